"""``recipes/cm/train_waveform.py --floor-on``: which training views may take the noise floor."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.audio.augment import noise_floor


def _views(n: int = 6) -> np.ndarray:
    return np.random.default_rng(0).uniform(-0.1, 0.1, size=(n, 800)).astype(np.float32)


def test_spoofs_only_leaves_every_bona_fide_view_untouched(import_recipe) -> None:
    tw = import_recipe("cm", "train_waveform")
    x = _views()
    is_spoof = np.arange(len(x)) >= 3  # the training batch's order: bona fide first
    out = tw.apply_floor(x, is_spoof, 1.0, "spoof", np.random.default_rng(1))
    assert np.array_equal(out[:3], x[:3])
    # every spoof view took a floor of -75..-50 dBFS: the residual's RMS lies in that range
    rms_db = 20 * np.log10(np.sqrt(np.mean((out[3:] - x[3:]) ** 2, axis=1)))
    assert np.all((rms_db > -76) & (rms_db < -49)), rms_db


def test_both_classes_reproduces_the_earlier_draw(import_recipe) -> None:
    # the expression the recipe used before the option, written out here with the same seed
    tw = import_recipe("cm", "train_waveform")
    x = _views()
    rng = np.random.default_rng(5)
    before = np.stack([noise_floor(v, rng) if rng.random() < 0.5 else v for v in x])
    after = tw.apply_floor(x, np.arange(len(x)) >= 3, 0.5, "both", np.random.default_rng(5))
    assert np.array_equal(before, after)
    assert not np.array_equal(after, x)  # seed 5 floors at least one view, so the comparison bites


def test_an_unknown_class_name_is_refused(import_recipe) -> None:
    tw = import_recipe("cm", "train_waveform")
    with pytest.raises(ValueError, match="floor on 'bonafide'"):
        tw.apply_floor(_views(), np.zeros(6, bool), 1.0, "bonafide", np.random.default_rng(0))
