"""``recipes/cm/bona_by_speaker.py``: the spectral-slope measure and the leaf-branch walk.

The slope is checked on signals whose spectra are known without the code: white noise is flat
(0 dB between any two bands), and white noise through a 4-kHz brick-wall low-pass has nothing
left at 6-8 kHz. The walk must return one log-odds per leaf network of a nested fusion, each
equal to that network's own logit difference.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(scope="module")
def tool(import_recipe):
    return import_recipe("cm", "bona_by_speaker")


def test_hf_slope_of_white_noise_is_flat(tool):
    x = np.random.default_rng(0).standard_normal(16000 * 4)
    assert tool.hf_slope_db(x) == pytest.approx(0.0, abs=0.5)


def test_hf_slope_of_lowpassed_noise_is_very_negative(tool):
    x = np.random.default_rng(1).standard_normal(16000 * 4)
    spec = np.fft.rfft(x)
    spec[np.fft.rfftfreq(len(x), 1 / 16000) > 4000] = 0
    assert tool.hf_slope_db(np.fft.irfft(spec, len(x))) < -40


def test_leaf_scores_walks_a_nested_fusion(tool):
    from voxguard.models.cm.fusion import FusedCM, FusedCMConfig

    torch.manual_seed(0)
    inner = FusedCMConfig(branches=("lcnn_spec", "lcnn_wide"), weights=(1.0, 2.0))
    model = FusedCM(
        FusedCMConfig(
            branches=("fused_attm_lcnn", "lcnn_wide"),
            branch_configs=(
                {
                    "branches": list(inner.branches),
                    "branch_configs": [{}, {}],
                    "weights": list(inner.weights),
                },
                {},
            ),
            weights=(1.0, 0.15),
        )
    ).eval()
    x = torch.randn(1, 16000)
    with torch.inference_mode():
        got = tool.leaf_scores(model, x)
        leaves = [model.branches[0].branches[0], model.branches[0].branches[1], model.branches[1]]
        want = [float(m(x)[0, 1] - m(x)[0, 0]) for m in leaves]
    assert got == pytest.approx(want, abs=1e-5)
