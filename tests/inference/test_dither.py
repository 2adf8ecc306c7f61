"""The inference dither: a fixed noise floor the network sees and the speech gate does not."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.api._load import Loaded, dither_of, make_backend
from voxguard.errors import WeightsError
from voxguard.inference.runner import DitheredBackend, Runner, WindowPolicy


def identity(batch: np.ndarray) -> np.ndarray:
    return batch.copy()


def test_floor_has_the_named_rms_and_is_the_same_for_every_detector():
    # -40 dBFS is an RMS of 10 ** (-40 / 20) = 0.01 of full scale
    floor = DitheredBackend(identity, -40.0).floor(200_000)
    assert np.sqrt(np.mean(floor.astype(np.float64) ** 2)) == pytest.approx(0.01, rel=0.01)
    assert abs(float(floor.mean())) < 1e-4
    np.testing.assert_array_equal(floor, DitheredBackend(identity, -40.0).floor(200_000))
    # a shorter request is a prefix of the same sequence, a longer one extends it
    np.testing.assert_array_equal(DitheredBackend(identity, -40.0).floor(1000), floor[:1000])


def test_every_window_gets_the_same_floor_added():
    dithered = DitheredBackend(identity, -50.0)
    batch = np.random.default_rng(3).standard_normal((4, 800)).astype(np.float32) * 0.1
    out = dithered(batch)
    added = out - batch
    for row in added:
        np.testing.assert_allclose(row, dithered.floor(800), atol=1e-7)
    assert not np.allclose(added, 0.0)


def test_the_speech_gate_reads_the_original_samples():
    seen: list[np.ndarray] = []

    def activity(batch: np.ndarray, rate: int) -> np.ndarray:
        seen.append(batch.copy())
        return np.ones(len(batch))

    signal = np.zeros(32_000, dtype=np.float32)  # digital silence
    runner = Runner(
        DitheredBackend(identity, -30.0), WindowPolicy(length=16_000), activity=activity
    )
    (out,) = runner.run_arrays([signal])
    assert all(np.all(b == 0.0) for b in seen)  # the gate saw silence
    assert (
        np.std(out.windows) > 0.0
    )  # the network saw the floor (the identity backend returns its input)


@pytest.mark.parametrize("value", ["loud", True, 3.0, -200.0])
def test_a_card_with_a_bad_dither_is_refused_naming_the_model(value):
    with pytest.raises(
        WeightsError, match=r"toy: card dither_dbfs must be a number in \[-120, 0\]"
    ):
        dither_of(Loaded("toy", "cm", None, card={"dither_dbfs": value}))


def test_only_a_card_that_names_a_dither_gets_one():
    torch = pytest.importorskip("torch")
    net = torch.nn.Identity()
    plain = make_backend(Loaded("toy", "cm", net, card={}), "torch")
    dithered = make_backend(Loaded("toy", "cm", net, card={"dither_dbfs": -60}), "torch")
    assert not isinstance(plain, DitheredBackend)
    assert isinstance(dithered, DitheredBackend) and dithered.level_dbfs == -60.0
    x = np.zeros((2, 100), dtype=np.float32)
    np.testing.assert_array_equal(plain(x), x)
    np.testing.assert_allclose(dithered(x)[0], dithered.floor(100))
