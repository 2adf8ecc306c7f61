"""``recipes/cm/clip_study.py``: the saturating fusion's grid and the bundle it writes."""

from __future__ import annotations

import numpy as np
import torch


def test_clipped_fusion_known_values(import_recipe):
    cs = import_recipe("cm", "clip_study")
    spec, wide = np.array([3.0, -0.5, -7.0]), np.array([-2.0, 0.25, 1.5])
    # by hand, c = 1: [1 + 2 * -1, -0.5 + 2 * 0.25, -1 + 2 * 1] = [-1, 0, 1]
    np.testing.assert_allclose(cs.clipped_fusion([spec, wide], [1.0, 2.0], 1.0), [-1.0, 0.0, 1.0])
    # no bound: the plain weighted sum [3 - 4, -0.5 + 0.5, -7 + 3]
    np.testing.assert_allclose(cs.clipped_fusion([spec, wide], [1.0, 2.0], None), [-1.0, 0.0, -4.0])


def test_the_shipped_bundle_clipped_on_every_leaf(import_recipe):
    from voxguard.models import create_model, load_pretrained
    from voxguard.models._hub import read_config, resolve_pretrained_dir

    cs = import_recipe("cm", "clip_study")
    shipped = load_pretrained("lcnn_triplekok_engine").eval()
    torch.manual_seed(0)
    x = torch.randn(3, 64000) * 0.05
    with torch.no_grad():
        inner = shipped.branches[0].branch_scores(x)  # spec, wide
        phase = shipped.branches[1](x)
    leaf = torch.cat([inner, (phase[:, 1] - phase[:, 0])[:, None]], dim=1)
    c = float(leaf.abs().median())  # a bound that bites on some of the nine log-odds, not all
    assert (leaf.abs() > c).any() and (leaf.abs() < c).any()

    meta = read_config(resolve_pretrained_dir("lcnn_triplekok_engine"))
    config, leaves = cs.with_leaf_clip(meta["config"], c)
    # (spec + 2 wide) + 0.05 phase: the nested fusion's output is not clipped again
    assert config["clip"] == [None, c] and config["branch_configs"][0]["clip"] == [c, c]
    np.testing.assert_allclose(leaves, [1.0, 2.0, 0.05])
    clipped = create_model("fused_attm_lcnn", **config).eval()
    clipped.load_state_dict(shipped.state_dict())
    with torch.no_grad():
        out = clipped(x)
    expected = leaf.clamp(-c, c) @ torch.tensor([1.0, 2.0, 0.05])
    torch.testing.assert_close(out[:, 1] - out[:, 0], expected, rtol=1e-5, atol=1e-5)
