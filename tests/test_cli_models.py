import fnmatch
import json

from voxguard.cli.main import main


def test_models_lists_glob(capsys):
    assert main(["models", "debug_*", "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    names = [r["name"] for r in records]
    assert {"debug_cm", "debug_spk"} <= set(names)
    assert all(fnmatch.fnmatch(n, "debug_*") for n in names)
    assert {r["task"] for r in records if r["name"] == "debug_spk"} == {"spk"}


def test_models_task_filter(capsys):
    assert main(["models", "--task", "spk", "--json"]) == 0
    tasks = {json.loads(line)["task"] for line in capsys.readouterr().out.splitlines()}
    assert tasks == {"spk"}
