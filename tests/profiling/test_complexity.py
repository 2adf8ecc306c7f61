"""complexity(): inputs, components, reference MACs/params (SPEC §2) and the CLI."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import voxguard
from voxguard.cli.main import main
from voxguard.profiling import (
    InputSpecError,
    complexity,
    count_params,
    input_length,
    input_spec,
    measure_latency,
)


class _Composed(nn.Module):
    """frontend -> merge -> backend, plus a parameter owned by the model itself."""

    def __init__(self) -> None:
        super().__init__()
        self.frontend = nn.Conv1d(1, 4, 10, stride=10)
        self.merge = nn.Linear(4, 6)
        self.backend = nn.Linear(6, 2)
        self.scale = nn.Parameter(torch.ones(2))

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        h = self.frontend(wav[:, None]).transpose(1, 2)
        return self.backend(self.merge(h)).mean(1) * self.scale


class _FeatureModel(nn.Module):
    input_kind = "features"
    feature_dim = 5

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(5, 2)

    def forward(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.proj(feats).mean(1)


def test_components_of_composed_model():
    report = complexity(_Composed(), seconds=0.01)  # 160 samples -> 16 frames
    assert report["input"] == {
        "kind": "waveform",
        "batch": 1,
        "samples": 160,
        "seconds": 0.01,
        "sample_rate": 16000,
    }
    comp = report["components"]
    assert list(comp) == ["frontend", "merge", "backend", "(rest)"]
    assert comp["frontend"] == {"params": 4 * 10 + 4, "macs": 16 * 4 * 10}
    assert comp["merge"] == {"params": 4 * 6 + 6, "macs": 16 * 4 * 6}
    assert comp["backend"] == {"params": 6 * 2 + 2, "macs": 16 * 6 * 2}
    assert comp["(rest)"] == {"params": 2, "macs": 0}
    assert report["params"] == 44 + 30 + 14 + 2
    assert report["macs"] == 640 + 384 + 192
    assert "FlopCounterMode" in report["mac_counter"] and "/ 2" in report["mac_counter"]


def test_feature_model_frames_and_default_lengths():
    model = _FeatureModel()
    spec = input_spec(model)
    assert (spec.kind, spec.feature_dim) == ("features", 5)
    assert input_length(spec) == 201
    assert input_length(spec, seconds=2.0) == 100  # 50 frames/s
    report = complexity(model, frames=30)
    assert report["input"]["frames"] == 30 and report["macs"] == 30 * 5 * 2
    assert input_length(input_spec(voxguard.create_model("debug_cm"))) == 64_600


def test_forward_argument_name_is_the_fallback():
    class Backend(nn.Module):
        config = type("Cfg", (), {"in_dim": 7})()

        def forward(self, feats: torch.Tensor) -> torch.Tensor:
            return feats

    assert input_spec(Backend()).feature_dim == 7


def test_bad_inputs_raise_clear_errors():
    cm = voxguard.create_model("debug_cm")
    with pytest.raises(InputSpecError, match="seconds"):
        complexity(cm, frames=10)
    with pytest.raises(InputSpecError, match="positive"):
        complexity(cm, seconds=-1.0)

    class NoDim(nn.Module):
        input_kind = "features"

    with pytest.raises(InputSpecError, match="feature_dim"):
        input_spec(NoDim())


def test_latency_restores_threads():
    before = torch.get_num_threads()
    stats = measure_latency(nn.Linear(3, 3), torch.randn(1, 3), threads=1, repeats=3, warmup=1)
    assert stats["threads"] == 1 and stats["repeats"] == 3
    assert 0 < stats["min_ms"] <= stats["median_ms"] <= stats["max_ms"]
    assert torch.get_num_threads() == before


def test_ssl_aasist_reference_macs_and_params():
    """SPEC §2: 447,242 params; ~710M MACs at 201 frames (FlopCounterMode FLOPs / 2)."""
    report = complexity(voxguard.create_model("ssl_aasist"), frames=201)
    assert report["params"] == 447_242
    assert report["macs"] == pytest.approx(710e6, rel=0.03)


@pytest.mark.slow
def test_aasist_reference_macs():
    """SPEC §2: ~9.6 G MACs for 64,600 samples, 9.0 G of them in the encoder."""
    report = complexity(voxguard.create_model("aasist"))
    assert report["params"] == 297_866
    assert report["macs"] == pytest.approx(9.6e9, rel=0.03)
    assert report["components"]["encoder"]["macs"] == pytest.approx(9.0e9, rel=0.03)


def test_cli_json(capsys):
    assert (
        main(
            [
                "complexity",
                "debug_cm",
                "--seconds",
                "1",
                "--json",
                "--latency",
                "--repeats",
                "2",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    frames = (16000 - 400) // 160 + 1
    assert report["macs"] == frames * 8 * 400 + frames * 16 * 8 * 3 + 16 * 2
    assert report["params"] == count_params(voxguard.create_model("debug_cm"))
    assert set(report) >= {
        "model",
        "params",
        "macs",
        "mac_counter",
        "input",
        "components",
        "latency_ms",
    }
    assert report["latency"]["threads"] == 1


def test_cli_table_and_errors(capsys):
    assert main(["complexity", "debug_spk"]) == 0
    out = capsys.readouterr().out
    assert "64,600 samples" in out and "component" in out
    assert main(["complexity", "debug_cm", "--frames", "10"]) == 2
    assert "--seconds" in capsys.readouterr().err
