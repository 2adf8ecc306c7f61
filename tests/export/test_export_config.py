"""A bare ``voxguard export`` file scores like its torch model: the config travels inside it."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import onnx  # noqa: E402
import torch  # noqa: E402

import voxguard  # noqa: E402
from voxguard.cli.main import main  # noqa: E402
from voxguard.errors import WeightsError  # noqa: E402

CROP = 24_000  # not the default AASIST crop (64,600): a guessed crop would give another score


@pytest.fixture()
def weights(tmp_path):
    torch.manual_seed(3)
    model = voxguard.create_model("debug_cm")
    return voxguard.save_pretrained(model, tmp_path / "w", card={"crop_samples": CROP})


def _detect(capsys, *args: str) -> dict:
    assert main(["detect", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out.splitlines()[0])


def test_exported_file_scores_like_torch(weights, audio_files, tmp_path, capsys):
    out = tmp_path / "elsewhere" / "x.onnx"  # no config.json beside it
    assert main(["export", str(weights), "--out", str(out), "--check-lengths", "1"]) == 0
    capsys.readouterr()
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(meta["voxguard_config"])["card"]["crop_samples"] == CROP
    wav = str(audio_files["good2"])  # 3 s: two windows of the 1.5 s crop
    torch_rec = _detect(capsys, wav, "--model", str(weights))
    onnx_rec = _detect(capsys, wav, "--model", str(out), "--backend", "onnx")
    assert torch_rec["n_windows"] == onnx_rec["n_windows"] == 2
    assert abs(onnx_rec["score"] - torch_rec["score"]) <= 1e-4


def test_bare_onnx_without_config_is_refused(weights, tmp_path):
    from voxguard.api import SpoofDetector
    from voxguard.export.onnx import export_onnx

    model = voxguard.create_model("debug_cm").eval()
    del model.model_name  # as a model exported by another tool: no voxguard_config
    path = export_onnx(model, tmp_path / "bare" / "m.onnx")
    with pytest.raises(WeightsError, match="will not guess"):
        SpoofDetector.from_pretrained(str(path), backend="onnx")
