"""ONNX export: onnxruntime matches PyTorch at several lengths, metadata, frontend-less export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import voxguard
from voxguard.cli.main import main

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from voxguard.export.onnx import (  # noqa: E402
    ExportError,
    export_onnx,
    parity_report,
    read_metadata,
)

TOL = 1e-4


def _ort_run(path, x: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]


def test_spaarsist_rank1_parity_at_three_lengths(tmp_path):
    """Feature input: 25, 80 and 150 frames through one graph."""
    torch.manual_seed(0)
    model = voxguard.create_model("spaarsist_rank1").eval()
    path = export_onnx(model, tmp_path / "rank1.onnx", example_frames=60)
    report = parity_report(model, path, [0.5, 1.6, 3.0], batch=1)
    assert len(report) == 3 and max(report.values()) <= TOL
    meta = read_metadata(path)
    assert meta["input_kind"] == "features" and meta["feature_dim"] == "1024"
    # the graph computes something input-dependent: two inputs give different logits
    x = torch.randn(2, 60, 1024)
    out = _ort_run(path, x)
    assert out.shape == (2, 2) and np.abs(out[0] - out[1]).max() > 1e-5


def test_aasist_parity_at_three_lengths(tmp_path):
    """Waveform input (sinc front-end inside the graph)."""
    torch.manual_seed(0)
    model = voxguard.create_model("aasist").eval()
    path = export_onnx(model, tmp_path / "aasist.onnx", example_seconds=0.7)
    report = parity_report(model, path, [0.5, 0.8, 1.3], batch=1)
    assert len(report) == 3 and max(report.values()) <= TOL
    meta = read_metadata(path)
    assert (meta["input_kind"], meta["task"], meta["voxguard_model"]) == (
        "waveform",
        "cm",
        "aasist",
    )


def test_debug_model_dynamic_batch_and_names(tmp_path):
    model = voxguard.create_model("debug_spk").eval()
    path = export_onnx(model, tmp_path / "spk.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["wav"]
    assert [o.name for o in session.get_outputs()] == ["embeddings"]
    for batch, n in [(1, 8000), (3, 24000)]:
        x = 0.1 * torch.randn(batch, n)
        with torch.no_grad():
            expected = model(x).numpy()
        np.testing.assert_allclose(_ort_run(path, x), expected, atol=TOL)


class _FbankSpeaker(nn.Module):
    """Speaker-model shape: a frontend returning (feats, lengths), then a network."""

    task = "spk"

    def __init__(self) -> None:
        super().__init__()
        self.frontend = _Frames()
        self.network = nn.Sequential(nn.Linear(20, 8), nn.Tanh())

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        feats, _ = self.frontend(wav, lengths)
        return self.network(feats).mean(1)


class _Frames(nn.Module):
    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None):
        b, n = wav.shape
        frames = wav[:, : n // 160 * 160].reshape(b, -1, 160)
        return torch.log1p(frames[..., :20].abs()), lengths


def test_export_without_frontend_takes_features(tmp_path):
    model = _FbankSpeaker().eval()
    path = export_onnx(model, tmp_path / "net.onnx", include_frontend=False)
    meta = read_metadata(path)
    assert meta["includes_frontend"] == "0" and meta["feature_dim"] == "20"
    assert meta["frame_rate"] == "100"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].name == "feats"
    feats = torch.randn(2, 37, 20)
    with torch.no_grad():
        expected = model.network(feats).mean(1).numpy()
    np.testing.assert_allclose(_ort_run(path, feats), expected, atol=TOL)
    assert max(parity_report(model, path, [0.5, 1.5]).values()) <= TOL


def test_strip_frontend_needs_a_frontend(tmp_path):
    with pytest.raises(ExportError, match="frontend"):
        export_onnx(voxguard.create_model("debug_cm"), tmp_path / "x.onnx", include_frontend=False)


def test_cli_export_reports_parity(tmp_path, capsys):
    out = tmp_path / "cm.onnx"
    assert main(["export", "debug_cm", "--out", str(out), "--check-lengths", "0.5,1,2"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("parity")]
    assert len(lines) == 3 and all(ln.endswith("ok") for ln in lines)
    assert out.is_file()


def test_cli_export_fails_above_tolerance(tmp_path, capsys, monkeypatch):
    import voxguard.export.onnx as onnx_export

    out = tmp_path / "cm.onnx"
    # a parity report above the tolerance (a real one is ~1e-6): the command must exit non-zero
    monkeypatch.setattr(onnx_export, "parity_report", lambda model, path, lengths: {1.0: 0.5})
    args = ["export", "debug_cm", "--out", str(out), "--check-lengths", "1", "--tolerance", "0.1"]
    assert main(args) == 1
    assert "parity check failed: 5.000e-01 > tolerance 0.1" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a negative tolerance is refused before any work
        main([*args[:-1], "-1"])
    assert "--tolerance: -1 must be above 0" in capsys.readouterr().err


def test_cli_export_loads_weights(tmp_path, capsys):
    model = voxguard.create_model("debug_cm")
    weights = tmp_path / "w.pth"
    torch.save(model.state_dict(), weights)
    out = tmp_path / "cm.onnx"
    assert (
        main(
            [
                "export",
                "debug_cm",
                "--out",
                str(out),
                "--weights",
                str(weights),
                "--check-lengths",
                "1",
            ]
        )
        == 0
    )
    x = 0.1 * torch.randn(1, 16000)
    with torch.no_grad():
        np.testing.assert_allclose(_ort_run(out, x), model.eval()(x).numpy(), atol=TOL)
    assert (
        main(["export", "debug_cm", "--out", str(out), "--weights", str(tmp_path / "no.pth")]) == 2
    )


class _CrossAttention(nn.Module):
    """A learned query attending to the frames: nn.MultiheadAttention with Lq != Lk, which the
    TorchScript exporter freezes at the traced length."""

    task = "cm"
    input_kind = "features"
    feature_dim = 8

    def __init__(self) -> None:
        super().__init__()
        self.query = nn.Parameter(torch.randn(1, 3, 8))
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.out = nn.Linear(8, 2)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        q = self.query.expand(feats.shape[0], -1, -1)
        return self.out(self.attn(q, feats, feats, need_weights=False)[0].mean(1))


def test_auto_exporter_falls_back_when_the_trace_freezes_a_shape(tmp_path):
    pytest.importorskip("onnxscript")
    model = _CrossAttention().eval()
    frozen = export_onnx(model, tmp_path / "ts.onnx", example_frames=20, exporter="torchscript")
    with pytest.raises(Exception, match="Reshape"):  # onnxruntime's Fail at another length
        _ort_run(frozen, torch.randn(1, 31, 8))
    path = export_onnx(model, tmp_path / "auto.onnx", example_frames=20)
    assert read_metadata(path)["exporter"] == "dynamo"
    assert max(parity_report(model, path, [0.5, 1.0], batch=1).values()) <= TOL
