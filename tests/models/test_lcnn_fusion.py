"""LCNN countermeasure and the score-level FusedCM."""

from __future__ import annotations

import pytest
import torch

import voxguard as vg
from voxguard.models import load_pretrained, save_pretrained


def test_lcnn_lfcc_matches_the_baseline_sizes():
    # the ASVspoof LFCC-LCNN baseline: 60-d LFCC -> 4 poolings -> 32 channels x 60 // 16 = 96 BLSTM features
    model = vg.create_model("lcnn_lfcc")
    assert model.lstm1.input_size == 96 and model.lstm1.hidden_size == 48
    assert [m.out_channels for m in model.body if isinstance(m, torch.nn.Conv2d)] == [
        64,
        64,
        96,
        96,
        128,
        128,
        64,
        64,
        64,
    ]


def test_lcnn_wide_sees_the_wide_band_spectrogram():
    # 64-sample (4 ms) frames every 32, uncentred: 33 bins, 4 s -> 1 + (64000 - 64) // 32 = 1999
    # frames; the half-width body ends in 64 * 0.5 = 32 conv channels, 16 after the MFM, over
    # 33 // 16 = 2 bins: mean + std of 32 features
    model = vg.create_model("lcnn_wide").eval()
    feats, frames = model.frontend(torch.randn(1, 64000) * 0.1)
    assert feats.shape[1:] == (1999, 33) and int(frames[0]) == 1999
    assert model.out.in_features == 2 * 16 * 2


@pytest.mark.parametrize("name", ["lcnn_spec", "lcnn_mel", "lcnn_wide", "lcnn_widephase", "lcnn_wide_oc"])
def test_lcnn_items_score_independently_of_their_batch(name):
    torch.manual_seed(0)
    model = vg.create_model(name).eval()
    x = torch.randn(3, 64000) * 0.1  # the product scores equal-length 4-s windows
    with torch.no_grad():
        batch = model(x)
        alone = torch.cat([model(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(batch, alone, atol=1e-5, rtol=1e-5)


def test_lcnn_padding_content_never_reaches_the_score():
    # frames past an item's length are zeroed before the CNN and left out of the pooling, so
    # what the padding holds cannot change the score
    torch.manual_seed(0)
    model = vg.create_model("lcnn_spec").eval()
    x = torch.randn(1, 32000) * 0.1
    zeros = torch.cat([x, torch.zeros(1, 32000)], dim=1)
    noise = torch.cat([x, torch.randn(1, 32000)], dim=1)
    with torch.no_grad():
        a = model(zeros, torch.tensor([32000]))
        b = model(noise, torch.tensor([32000]))
        c = model(noise)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(b, c)


def test_lcnn_scores_very_short_input():
    model = vg.create_model("lcnn_spec").eval()
    with torch.no_grad():
        out = model(torch.randn(1, 800) * 0.1)
    assert out.shape == (1, 2) and torch.isfinite(out).all()


def test_fused_score_is_the_weighted_sum_of_branch_log_odds(tmp_path):
    torch.manual_seed(0)
    model = vg.create_model("debug_fused_cm").eval()  # weights (1.0, 0.5), bias 0.1
    x = torch.randn(3, 16000) * 0.1
    with torch.no_grad():
        out = model(x)
        per_branch = []
        for branch in model.branches:
            logits = branch(x)
            per_branch.append(logits[:, 1] - logits[:, 0])
    expected = per_branch[0] + 0.5 * per_branch[1] + 0.1
    torch.testing.assert_close(out[:, 1] - out[:, 0], expected)
    save_pretrained(model, tmp_path / "fused", {"sample_rate": 16000})
    with torch.no_grad():
        torch.testing.assert_close(load_pretrained(tmp_path / "fused")(x), out)


def test_clipped_fusion_bounds_each_branch_vote_before_the_weighted_sum(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(6, 16000) * 0.1
    with torch.no_grad():
        plain = vg.create_model("debug_fused_cm").eval()
        per_branch = [b(x)[:, 1] - b(x)[:, 0] for b in plain.branches]
        # a bound inside branch 0's range, so some windows are clipped and some are not
        c = float(per_branch[0].abs().median())
        assert (per_branch[0].abs() > c).any() and (per_branch[0].abs() < c).any()
        clipped = vg.create_model("debug_fused_cm", clip=(c, None)).eval()
        clipped.load_state_dict(plain.state_dict())
        out = clipped(x)
    expected = per_branch[0].clamp(-c, c) + 0.5 * per_branch[1] + 0.1  # branch 1 not clipped
    torch.testing.assert_close(out[:, 1] - out[:, 0], expected)
    save_pretrained(clipped, tmp_path / "fused", {"sample_rate": 16000})
    with torch.no_grad():
        torch.testing.assert_close(load_pretrained(tmp_path / "fused")(x), out)


def test_fused_config_errors_are_clear():
    with pytest.raises(ValueError, match="fusion weights"):
        vg.create_model("debug_fused_cm", weights=(1.0,))
    with pytest.raises(ValueError, match="clip bounds"):
        vg.create_model("debug_fused_cm", clip=(1.0,))
    with pytest.raises(ValueError, match="positive or None"):
        vg.create_model("debug_fused_cm", clip=(0.0, None))
    with pytest.raises(ValueError, match="positive or None"):
        vg.create_model("debug_fused_cm", clip=("1", None))  # a crafted config.json


def test_lcnn_widephase_takes_three_input_channels():
    # log power + cos / sin of the phase step: only the first convolution sees 3 channels
    model = vg.create_model("lcnn_widephase").eval()
    feats, frames = model.frontend(torch.randn(1, 64000) * 0.1)
    assert feats.shape[1:] == (3, 1999, 33) and int(frames[0]) == 1999
    assert model.body[0].in_channels == 3
    with torch.no_grad():
        assert model(torch.randn(2, 800) * 0.1).shape == (2, 2)  # shorter than 16 frames


@pytest.mark.parametrize(("second", "clip"), [("lcnn_wide", None), ("lcnn_widephase", None),
                                              ("lcnn_wide", (0.01, None))])
def test_spec_and_wide_fusion_exports_to_onnx_with_the_same_scores(tmp_path, second, clip):
    ort = pytest.importorskip("onnxruntime")
    from voxguard.export.onnx import export_onnx

    torch.manual_seed(0)
    model = vg.create_model(
        "fused_attm_lcnn",
        branches=("lcnn_spec", second),
        branch_configs=({}, {}),
        upstream_path=None,
        weights=(1.0, 0.7),
        bias=0.0,
        clip=clip,
    ).eval()
    path = export_onnx(model, tmp_path / "m.onnx", example_seconds=4.0)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(2, 48000) * 0.1  # another length than the trace's
    with torch.no_grad():
        expected = model(x).numpy()
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert got.shape == expected.shape
    assert abs(got - expected).max() < 1e-3


def test_lcnn_one_class_head_returns_the_cosine_to_its_direction_as_two_logits():
    # OneClassHead: logits (-cos, cos) with cos the cosine between the pooled embedding and the
    # learned direction; an embedding along the direction scores 1, against it -1
    from voxguard.models.cm.lcnn import OneClassHead

    head = OneClassHead(4)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[0.0, 2.0, 0.0, 0.0]]))
    x = torch.tensor(
        [[0.0, 5.0, 0.0, 0.0], [0.0, -0.1, 0.0, 0.0], [3.0, 0.0, 0.0, 4.0], [1.0, 1.0, 0.0, 0.0]]
    )
    out = head(x)
    expected = torch.tensor([1.0, -1.0, 0.0, 2**-0.5])
    torch.testing.assert_close(out[:, 1], expected)
    torch.testing.assert_close(out[:, 0], -expected)
    model = vg.create_model("lcnn_wide_oc").eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 32000) * 0.1)
    assert logits.shape == (2, 2) and bool((logits[:, 1].abs() <= 1 + 1e-6).all())
