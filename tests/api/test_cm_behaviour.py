"""The official AASIST CM off its training distribution (documented in docs/reliability.md).

Pins the behaviour measured by benchmarks/cm_robustness.py on a few inputs: channel
degradations push bona fide scores down (false rejections grow), and trivial inputs never get a
bona fide verdict from the API (the model itself calls digital silence bona fide; the
speech-activity gate answers ``no_speech`` instead).
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from voxguard.api import SpoofDetector
from voxguard.audio import load_audio

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
robustness = importlib.import_module("cm_robustness")


@pytest.fixture(scope="module")
def aasist(shared_dir):
    # the AASIST eval convention (first crop), which benchmarks/cm_robustness.py measures
    return SpoofDetector.from_pretrained(
        "aasist",
        weights=shared_dir / "anchors/aasist/AASIST.pth",
        threshold=0.0,
        mode="crop",
        aggregate="mean",
    )


def test_trivial_inputs_are_never_bonafide(aasist):
    inputs = robustness.trivial_inputs(np.random.default_rng(0), seconds=4.04)
    dets = aasist.score_arrays([x.astype(np.float32) for x in inputs.values()], 16000)
    verdicts = {name: d.decision for name, d in zip(inputs, dets, strict=True)}
    assert "bonafide" not in verdicts.values(), verdicts
    assert verdicts["digital silence"] == "no_speech"
    # the model alone would have accepted silence: the gate is what protects the decision
    assert dets[0].score > 0


@pytest.mark.skipif(importlib.util.find_spec("scipy") is None, reason="scipy needed for replay")
def test_degradations_lower_bonafide_scores(aasist, shared_dir):
    files = ["librispeech-mini/19/19-198-0001.flac", "librispeech-mini/3242/3242-8112-0002.flac"]
    clean = [load_audio(shared_dir / "data" / f)[0] for f in files]
    rng = np.random.default_rng(0)
    noisy = [robustness.add_noise(x, 5, rng) for x in clean]
    replayed = [robustness.replay(x, rng) for x in clean]
    s_clean, s_noisy, s_replay = (
        np.array([d.score for d in aasist.score_arrays(xs, 16000)])
        for xs in (clean, noisy, replayed)
    )
    assert (s_clean > 0).all()  # accepted when clean
    assert (s_noisy < s_clean).all() and (s_replay < s_clean).all()
