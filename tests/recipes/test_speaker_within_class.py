"""``recipes/speaker/within_class.py``: the WCCN and LDA maps, checked against their definitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def wc(import_recipe):
    return import_recipe("speaker", "within_class")


def _speakers(rng: np.random.Generator, n_spk: int, per: int, d: int, within: np.ndarray):
    centres = rng.normal(size=(n_spk, d)) * 3.0
    chol = np.linalg.cholesky(within)
    emb = np.concatenate([c + rng.normal(size=(per, d)) @ chol.T for c in centres])
    return emb, [str(s) for s in range(n_spk) for _ in range(per)]


def test_scatter_matches_its_definition(wc) -> None:
    emb = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [10.0, 10.0]])
    spk = ["a", "a", "b", "c"]  # "b" and "c" have one utterance: no within-class term
    m0, sw, sb = wc.scatter(emb, spk)
    # by hand: speaker means (2, 0), (0, 2), (10, 10); their mean (4, 4)
    np.testing.assert_allclose(m0, [4.0, 4.0])
    # within: a's deviations (-1, 0) and (1, 0), over 2 utterances
    np.testing.assert_allclose(sw, [[1.0, 0.0], [0.0, 0.0]])
    c = np.array([[-2.0, -4.0], [-4.0, -2.0], [6.0, 6.0]])
    np.testing.assert_allclose(sb, c.T @ c / 3)


def test_wccn_whitens_the_within_class_scatter(wc) -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 6))
    emb, spk = _speakers(rng, 40, 50, 6, a @ a.T + 0.1 * np.eye(6))
    _, sw, sb = wc.scatter(emb, spk)
    m = wc.variant_map(sw, sb, a=0.0)
    np.testing.assert_allclose(m @ sw @ m.T, np.eye(6), atol=1e-8)
    # shrinkage: the map whitens the shrunk scatter instead
    m = wc.variant_map(sw, sb, a=0.3)
    shrunk = 0.7 * sw + 0.3 * np.trace(sw) / 6 * np.eye(6)
    np.testing.assert_allclose(m @ shrunk @ m.T, np.eye(6), atol=1e-8)


def test_lda_map_has_rank_k_and_keeps_the_discriminant_directions(wc) -> None:
    rng = np.random.default_rng(1)
    d, k = 5, 2
    # the speakers differ only along the first two axes; the rest is within-speaker noise
    centres = np.zeros((30, d))
    centres[:, :2] = rng.normal(size=(30, 2)) * 5.0
    emb = np.concatenate([c + rng.normal(size=(40, d)) for c in centres])
    spk = [str(s) for s in range(30) for _ in range(40)]
    _, sw, sb = wc.scatter(emb, spk)
    m = wc.variant_map(sw, sb, a=0.0, k=k)
    assert np.linalg.matrix_rank(m, tol=1e-8) == k
    # the kept subspace is (nearly) the first two axes: the last three map to almost nothing
    row_space = np.linalg.svd(m)[2][:k]
    assert np.abs(row_space[:, 2:]).max() < 0.1
    assert np.linalg.norm(row_space[:, :2], axis=1).min() > 0.99


def test_the_study_grid_is_the_declared_one(wc) -> None:
    assert list(wc.VARIANTS) == ["raw", "wccn a=0.1", "wccn a=0.3", "lda128 a=0.1", "lda64 a=0.1"]
    assert wc.AUGMENTED_VARIANT == ("wccn-aug a=0.1", {"a": 0.1})


def test_augmented_copies_are_changed_versions_of_each_utterance_with_its_speaker(
    wc, tmp_path: Path
) -> None:
    import torch

    from voxguard.audio.io import save_audio

    rng = np.random.default_rng(3)
    entries = []
    for n, spk in enumerate(["a", "a", "b"]):
        save_audio(
            tmp_path / f"{n}.wav", (0.1 * rng.standard_normal(16000)).astype(np.float32), 16000
        )
        entries.append({"path": f"{n}.wav", "speaker": spk})

    class Stats(torch.nn.Module):  # an "embedding" that sees level and length of the input
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.stack(
                [x.abs().mean(dim=1), x.shape[1] / 16000.0 * torch.ones(len(x))], dim=1
            )

    emb, spk = wc.embed_augmented(Stats(), tmp_path, entries, copies=4, seed=0)
    assert emb.shape == (12, 2)
    assert spk == ["a"] * 8 + ["b"] * 4
    again, _ = wc.embed_augmented(Stats(), tmp_path, entries, copies=4, seed=0)
    np.testing.assert_array_equal(emb, again)  # seeded
    clean = 0.1 * np.sqrt(2 / np.pi)  # mean |x| of the clean Gaussian utterances
    assert np.abs(emb[:, 0] - clean).max() > 0.01  # at least one copy changed by the chain


@pytest.fixture(scope="module")
def vs(import_recipe):
    return import_recipe("speaker", "validation_speakers")


def test_clean_stretch_is_the_longest_part_no_other_turn_overlaps(vs) -> None:
    # turn 0-10 s; others cover 2-3 and 2.5-6 (merged: 2-6) and 9-12: free 0-2, 6-9
    assert vs.clean_stretch((0.0, 10.0), [(2.0, 3.0), (2.5, 6.0), (9.0, 12.0)]) == (6.0, 9.0)
    assert vs.clean_stretch((0.0, 10.0), []) == (0.0, 10.0)
    a, b = vs.clean_stretch((0.0, 10.0), [(-1.0, 11.0)])  # wholly overlapped: nothing left
    assert b - a == 0
    assert vs.clean_stretch((4.0, 10.0), [(0.0, 5.0), (20.0, 30.0)]) == (5.0, 10.0)


def test_rttm_lines_and_a_malformed_one(vs, tmp_path: Path) -> None:
    p = tmp_path / "x.rttm"
    p.write_text(
        "SPEAKER trn00 1 3.168 0.800 <NA> <NA> MEO069 <NA> <NA>\n\nSPEAKER trn00 1 5.5 1.25 <NA> <NA> MEE068\n"
    )
    assert vs.read_rttm(p) == [("trn00", 3.168, 3.968, "MEO069"), ("trn00", 5.5, 6.75, "MEE068")]
    p.write_text("SPEAKER trn00 1 3.168\n")
    with pytest.raises(ValueError, match="x.rttm:1"):
        vs.read_rttm(p)


def test_trials_stay_within_a_corpus(vs) -> None:
    segs = [
        {"corpus": "ami", "speaker": "a"},
        {"corpus": "ami", "speaker": "a"},
        {"corpus": "ami", "speaker": "b"},
        {"corpus": "vctk", "speaker": "a"},
    ]
    i, j, t = vs.pooled_trials(segs)
    assert sorted(zip(i.tolist(), j.tolist(), t.tolist(), strict=True)) == [
        (0, 1, True),
        (0, 2, False),
        (1, 2, False),
    ]


def test_min_cllr_of_trials_by_hand(vs) -> None:
    # one row of cosines, trials (0, k): targets at 0.9 and 0.3, non-targets at 0.5 and 0.1
    cos = np.array([[0.9, 0.5, 0.3, 0.1]])
    i, j = np.zeros(4, dtype=int), np.arange(4)
    t = np.array([True, False, True, False])
    # ascending: N .1, T .3, N .5, T .9 -> PAV posteriors 0, .5, .5, 1; prior .5 -> LLRs -inf, 0, 0, +inf;
    # targets cost (1 + 0) / 2 bits, non-targets (0 + 1) / 2 -> minCllr = (0.5 + 0.5) / 2
    assert vs.cllr_min(cos, i, j, t) == pytest.approx(0.5)
    assert vs.cllr_min(cos, i, j, np.array([True, True, False, False])) == pytest.approx(0.0)
    # scores ordered against the labels carry no information: 1 bit
    assert vs.cllr_min(cos, i, j, np.array([False, False, True, True])) == pytest.approx(1.0)
