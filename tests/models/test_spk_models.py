"""Speaker models: parameter counts, shapes, batch size 1, padding, attention maps."""

from __future__ import annotations

import pytest
import torch

import voxguard
from voxguard.models.spk.bccmt import BCCMT


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_acanet_reference_param_count():
    # SPEC §1.4: ACA-Net reference config (80-d fbank, latent 192, E 256, 2 reps, 3 layers,
    # 2 blocks, MLP 256) has exactly 4,553,601 parameters.
    assert n_params(voxguard.create_model("acanet")) == 4_553_601


def test_acanet_structure_adds_up():
    # The breakdown table in the acanet.py docstring, checked against the built modules.
    net = voxguard.create_model("acanet").network
    block = net.blocks[0]
    assert n_params(net.tdnn) == 21_248
    assert net.latent.numel() == 192 * 256 == 49_152
    for layer in [*block.cross, *block.latent]:
        assert n_params(layer) == 395_776
    assert n_params(block) == 5 * 395_776 + n_params(block.reduce) == 2_241_280
    assert len(net.blocks) == 2 and n_params(net.blocks) == 4_482_560
    assert n_params(net.compress) + n_params(net.norm) == 641


def test_bccmt_sizes():
    tiny, small, base = (
        n_params(voxguard.create_model(n)) for n in ("bccmt_tiny", "bccmt_small", "bccmt_base")
    )
    assert tiny == 268_752  # the paper's Tiny: 271.44K (our widths, see bccmt.py)
    assert tiny < small < base


def test_ecapa_param_count_is_the_c512_reference():
    """ECAPA-TDNN C=512, 192-d (speechbrain / wespeaker ``ECAPA_TDNN_c512``: ~6.19M), counted
    here from the layer shapes of the paper (80 mels, C=512, scale 8, SE bottleneck 128,
    MFA 1536, attention bottleneck 128 with global context); BatchNorm adds weight and bias."""

    def conv(cin: int, cout: int, k: int = 1) -> int:
        return cin * cout * k + cout

    def bn(c: int) -> int:
        return 2 * c

    def tdnn(cin: int, cout: int, k: int = 1) -> int:  # conv -> ReLU -> BN
        return conv(cin, cout, k) + bn(cout)

    c, width, scale, mfa = 512, 512 // 8, 8, 1536
    stem = tdnn(80, c, 5)  # 206,336
    se_res2 = (
        tdnn(c, c)  # 1x1 in
        + (scale - 1) * tdnn(width, width, 3)  # Res2Net: 7 dilated convs of 64 channels
        + tdnn(c, c)  # 1x1 out
        + conv(c, 128)
        + conv(128, c)  # squeeze-excitation
    )  # 746,432
    mfa_conv = conv(3 * c, mfa)  # 2,360,832
    pooling = conv(3 * mfa, 128) + bn(128) + conv(128, mfa)  # 788,352 (x, mean, std in)
    head = bn(2 * mfa) + (2 * mfa * 192 + 192) + bn(192)  # pool BN, Linear(3072, 192), BN
    expected = stem + 3 * se_res2 + mfa_conv + pooling + head
    assert expected == 6_191_360
    model = voxguard.create_model("ecapa_tdnn")
    assert n_params(model.frontend) == 0  # the fbank has buffers only
    assert n_params(model) == expected


@pytest.mark.parametrize("name,dim", [("bccmt_tiny", 192), ("acanet", 192), ("ecapa_tdnn", 192)])
def test_forward_backward_shape(name, dim):
    torch.manual_seed(0)
    model = voxguard.create_model(name).train()
    emb = model(torch.randn(2, 8000) * 0.1)
    assert emb.shape == (2, dim)
    emb.pow(2).sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("samples", [400, 23456])
def test_acanet_batch_size_one_any_length(samples):
    model = voxguard.create_model("acanet").eval()
    with torch.no_grad():
        assert model(torch.randn(1, samples) * 0.1).shape == (1, 192)


@pytest.mark.parametrize("name", ["bccmt_tiny", "acanet"])
def test_padding_is_ignored(name):
    torch.manual_seed(0)
    model = voxguard.create_model(name).eval()
    wav = torch.randn(2, 16000) * 0.1
    with torch.no_grad():
        both = model(wav, torch.tensor([16000, 9600]))
        alone = model(wav[1:, :9600])
    # ACA-Net masks attention keys; BC-CMT masks its temporal convs, attention keys and the
    # attention's GroupNorm statistics: either way a padded item scores as it does alone.
    torch.testing.assert_close(both[1], alone[0], atol=1e-4, rtol=1e-4)
    with torch.no_grad():
        torch.testing.assert_close(both[0], model(wav[:1])[0], atol=1e-4, rtol=1e-4)


def test_bccmt_attention_maps_are_row_stochastic_and_size_independent():
    torch.manual_seed(0)
    wav = torch.randn(2, 16000) * 0.1
    tiny: BCCMT = voxguard.create_model("bccmt_tiny").eval()
    base: BCCMT = voxguard.create_model("bccmt_base").eval()
    with torch.no_grad():
        _, t_maps = tiny.forward_with_attention(wav)
        _, b_maps = base.forward_with_attention(wav)
    cfg_t, cfg_b = tiny.config, base.config
    assert len(t_maps) == sum(cfg_t.cmt_blocks) and len(b_maps) == sum(cfg_b.cmt_blocks)
    frames = (16000 - 400) // 160 + 1
    for m in t_maps + b_maps:
        assert m.shape[0] == 2 and m.shape[-2:] == ((frames + 1) // 2, (frames + 1) // 2)
        torch.testing.assert_close(m.sum(-1), torch.ones_like(m.sum(-1)))


def test_bundled_bccmt_tiny_weights_load_and_carry_a_card():
    model = voxguard.load_pretrained("bccmt_tiny_ge2e_kd")  # sha256-verified, strict load
    assert model.model_name == "bccmt_tiny" and model.card["sample_rate"] == 16000
    assert "CC BY 4.0" in model.card["licence"] and model.card["polarity"].startswith("higher")
    assert 0.0 < model.card["evaluation"]["eer_pct_cosine"] < 50.0
    with torch.no_grad():
        emb = model(torch.randn(1, 16000) * 0.1)
    assert emb.shape == (1, 192) and torch.isfinite(emb).all()


def test_acanet_without_positions_sees_frames_as_a_set():
    # positions="none": a 1x1 TDNN and attention over keys are order-free, so reversing the frames
    # gives the same embedding; with the paper's time positions it does not.
    torch.manual_seed(0)
    feats = torch.randn(2, 50, 80)
    for positions, invariant in (("none", True), ("time", False)):
        torch.manual_seed(1)
        net = voxguard.create_model("debug_acanet", n_mels=80, positions=positions).network.eval()
        with torch.no_grad():
            same = torch.allclose(net(feats), net(feats.flip(1)), atol=1e-5)
        assert same is invariant, positions


def test_acanet_positions_switch_rejects_unknown_values():
    with pytest.raises(ValueError, match="positions"):
        voxguard.create_model("debug_acanet", positions="batch")


def test_acanet_latent_init_spread_decides_how_one_dimensional_the_start_is():
    # With the reference's 0.02 the 192 latents start nearly equal and so do the embedding
    # dimensions (the measurement in acanet.py's docstring); a spread of 1.0 pulls them apart.
    torch.manual_seed(0)
    feats = torch.randn(16, 120, 80) * 3 + torch.randn(16, 1, 80) * 2
    corr = {}
    for std in (0.02, 1.0):
        torch.manual_seed(1)
        net = voxguard.create_model("acanet", latent_init_std=std).network.train()
        with torch.no_grad():
            c = torch.corrcoef(net(feats).T)
        corr[std] = c[~torch.eye(192, dtype=torch.bool)].abs().mean().item()
    assert corr[0.02] > 0.99
    assert corr[1.0] < 0.85
