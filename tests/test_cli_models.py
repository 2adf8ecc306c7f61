import json

from voxguard.cli.main import main


def test_models_lists_glob(capsys):
    assert main(["models", "debug_*", "--json"]) == 0
    names = [json.loads(line)["name"] for line in capsys.readouterr().out.splitlines()]
    assert names == ["debug_cm", "debug_spk"]
