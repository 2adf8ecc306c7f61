import pytest
import torch

from voxguard.errors import WeightsError
from voxguard.frontends.ssl import PRESETS, SSLFrontend, SSLFrontendConfig

transformers = pytest.importorskip("transformers")

TINY = {
    "hidden_size": 16,
    "num_hidden_layers": 4,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "conv_dim": (16, 16),
    "conv_kernel": (10, 4),
    "conv_stride": (5, 4),
    "num_conv_pos_embeddings": 8,
    "num_conv_pos_embedding_groups": 2,
    "hidden_dropout": 0.0,
    "attention_dropout": 0.0,
    "activation_dropout": 0.0,
    "feat_proj_dropout": 0.0,
    "apply_spec_augment": False,
    "layerdrop": 0.0,
}
KINDS = {
    "wavlm_preln": ("WavLM", {"num_buckets": 16, "max_bucket_distance": 32,
                              "feat_extract_norm": "layer", "do_stable_layer_norm": True}),
    "wavlm_postln": ("WavLM", {"num_buckets": 16, "max_bucket_distance": 32}),
    "wav2vec2_preln": ("Wav2Vec2", {"feat_extract_norm": "layer", "do_stable_layer_norm": True,
                                    "conv_bias": True}),
    "hubert": ("Hubert", {}),
}  # fmt: skip


def save_tiny(kind: str, directory, seed: int = 0):
    """A random tiny transformers checkpoint directory (what a user's real checkpoint looks like)."""
    name, extra = KINDS[kind]
    torch.manual_seed(seed)
    config = getattr(transformers, f"{name}Config")(**{**TINY, **extra})
    model = getattr(transformers, f"{name}Model")(config).eval()
    model.save_pretrained(directory)
    return model


def hf_states(model, wav):
    with torch.no_grad():
        out = model(wav, output_hidden_states=True)
    return out.hidden_states, out.last_hidden_state


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_truncation_keeps_the_first_layers_and_drops_the_rest(kind, tmp_path):
    full_model = save_tiny(kind, tmp_path)
    wav = torch.randn(2, 4000)
    states, last = hf_states(full_model, wav)
    full = SSLFrontend(SSLFrontendConfig(upstream_path=str(tmp_path))).eval()
    cut = SSLFrontend(SSLFrontendConfig(upstream_path=str(tmp_path), num_layers=2)).eval()
    assert len(cut.upstream.encoder.layers) == 2 and cut.num_layers == 2
    assert not any(".layers.2." in n or ".layers.3." in n for n, _ in cut.named_parameters())
    per_layer = sum(p.numel() for p in full_model.encoder.layers[3].parameters())
    dropped = sum(p.numel() for p in full.parameters()) - sum(p.numel() for p in cut.parameters())
    final_ln = 2 * 16 if full_model.config.do_stable_layer_norm else 0
    assert dropped == 2 * per_layer + final_ln
    with torch.no_grad():
        h_full, frames = full(wav)
        h_cut, _ = cut(wav)
    assert h_full.shape == (2, 4, states[0].shape[1], 16)
    assert frames.tolist() == [states[0].shape[1]] * 2
    for i in range(3):  # hidden state i+1 of transformers = output of layer i+1
        torch.testing.assert_close(h_full[:, i], states[i + 1])
    torch.testing.assert_close(h_full[:, 3], last)  # the encoder output
    torch.testing.assert_close(h_cut, h_full[:, :2])  # raw outputs of layers 1 and 2


def test_wavlm_base_plus_sized_checkpoint_reloads_identically(tmp_path):
    torch.manual_seed(0)
    config = dict(PRESETS["wavlm_base_plus"])
    config.pop("model_type")
    model = transformers.WavLMModel(transformers.WavLMConfig(**config)).eval()
    model.save_pretrained(tmp_path)
    front = SSLFrontend(SSLFrontendConfig(upstream_path=str(tmp_path))).eval()
    assert sum(p.numel() for p in front.parameters()) == sum(p.numel() for p in model.parameters())
    wav = torch.randn(1, 8000)
    states, last = hf_states(model, wav)
    with torch.no_grad():
        hidden, frames = front(wav)
    assert hidden.shape == (1, 12, 24, 768) and frames.tolist() == [24]
    assert torch.equal(hidden[:, :11], torch.stack(states[1:12], dim=1))
    assert torch.equal(hidden[:, 11], last)


@pytest.mark.parametrize("kind", ["wavlm_preln", "wavlm_postln", "wav2vec2_preln"])
def test_padded_item_equals_item_alone(kind, tmp_path):
    save_tiny(kind, tmp_path)
    front = SSLFrontend(SSLFrontendConfig(upstream_path=str(tmp_path))).eval()
    wav = torch.randn(3, 6000)
    lengths = torch.tensor([6000, 4100, 2500])
    with torch.no_grad():
        batch, frames = front(wav, lengths)
        for i in range(3):
            n = int(lengths[i])
            alone, f = front(wav[i : i + 1, :n])
            assert int(frames[i]) == int(f[0]) == alone.shape[2]
            torch.testing.assert_close(batch[i : i + 1, :, : f[0]], alone, atol=1e-5, rtol=1e-4)


def test_freeze_modes(tmp_path):
    save_tiny("wavlm_preln", tmp_path)
    cnn = SSLFrontend(SSLFrontendConfig(upstream_path=str(tmp_path), freeze="cnn"))
    grads = {n: p.requires_grad for n, p in cnn.named_parameters()}
    assert not any(v for n, v in grads.items() if "feature_extractor" in n)
    assert all(v for n, v in grads.items() if "encoder.layers" in n)
    frozen = SSLFrontend(SSLFrontendConfig(upstream_path=str(tmp_path), freeze="all"))
    assert not any(p.requires_grad for p in frozen.parameters())
    hidden, _ = frozen(torch.randn(1, 3000))
    assert not hidden.requires_grad
    with pytest.raises(ValueError, match="freeze"):
        SSLFrontend(SSLFrontendConfig(upstream_path=str(tmp_path), freeze="some"))


def test_gradient_checkpointing_gives_the_same_gradients(tmp_path):
    save_tiny("wavlm_preln", tmp_path)
    wav = torch.randn(2, 3000)
    grads, calls = [], []
    for ckpt in (False, True):
        front = SSLFrontend(
            SSLFrontendConfig(upstream_path=str(tmp_path), gradient_checkpointing=ckpt)
        )
        front.train()
        layer = front.upstream.encoder.layers[1]
        count: list[int] = []
        layer.feed_forward.register_forward_pre_hook(lambda *_, c=count: c.append(1))
        front(wav)[0].square().sum().backward()
        grads.append(layer.feed_forward.output_dense.weight.grad)
        calls.append(len(count))
    assert calls == [1, 2]  # checkpointing recomputes the layer in backward
    torch.testing.assert_close(grads[0], grads[1])


def test_preset_sizes_match_the_public_models():
    with torch.device("meta"):
        sizes = {
            n: sum(
                p.numel()
                for p in SSLFrontend(SSLFrontendConfig("wavlm_large", num_layers=n)).parameters()
            )
            for n in (24, 12, 6, 3)
        }
        xlsr = SSLFrontend(SSLFrontendConfig("xlsr_300m"))
    # SPEC §2: WavLM-Large 24 / 12 / 6 / 3 layers = 315.5M / 164.3M / 88.7M / 50.9M
    assert [round(sizes[n] / 1e6, 1) for n in (24, 12, 6, 3)] == [315.5, 164.3, 88.7, 50.9]
    assert xlsr.num_layers == 24 and xlsr.hidden_size == 1024
    assert type(xlsr.upstream).__name__ == "Wav2Vec2Model"


def test_missing_hub_id_is_a_clear_weights_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsError, match="huggingface-cli download"):
        SSLFrontend(SSLFrontendConfig(upstream_path="voxguard-tests/no-such-ssl-model"))


def test_bad_inputs_are_explained(tmp_path):
    with pytest.raises(WeightsError, match="unknown SSL preset"):
        SSLFrontend(SSLFrontendConfig(preset="wavlm_huge"))
    save_tiny("hubert", tmp_path)
    with pytest.raises(WeightsError, match="outside 1..4"):
        SSLFrontend(SSLFrontendConfig(upstream_path=str(tmp_path), num_layers=5))
    (tmp_path / "empty").mkdir()
    with pytest.raises(WeightsError, match="save_pretrained"):
        SSLFrontend(SSLFrontendConfig(upstream_path=str(tmp_path / "empty")))
