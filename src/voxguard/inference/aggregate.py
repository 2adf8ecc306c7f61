"""Whole-utterance CM scores from window scores, so that a genuine part cannot hide a spoofed one.

A countermeasure scores fixed-length windows covering the whole input (see
:mod:`voxguard.inference.runner`); the utterance score is an aggregate of the window scores:

- ``min`` (the default): the worst window. A genuine 4-s prefix followed by 15 s of TTS gets
  the TTS windows' score, where the mean (or the first crop, the AASIST eval convention) would
  let the genuine part outvote or hide it.
- ``p<q>`` (e.g. ``p10``): the ``q``-th percentile of the window scores, a softer minimum that
  one odd window cannot decide alone on long inputs.
- ``mean``: the mean window score (what voxguard did before; equal to the score of the mean
  logits).

Only windows whose speech fraction is at least ``min_window_speech`` (default 0.5) take part, so
that a window of silence or noise, whose score means nothing, cannot decide; when no window has
that much speech, the windows with the most speech are used. Scores are raw scores or LLRs
alike: a calibration is increasing, so the aggregate of LLRs is the LLR of the aggregate.
"""

from __future__ import annotations

import re

import numpy as np

AGGREGATES = ("min", "mean", "p<q>")
DEFAULT_AGGREGATE = "min"
MIN_WINDOW_SPEECH = 0.5


def check_aggregate(how: str) -> str:
    """``how`` when it names an aggregate (``min``, ``mean`` or ``p<q>``, 0 <= q <= 100)."""
    match = re.fullmatch(r"p(\d+(?:\.\d+)?)", how)
    if how in ("min", "mean") or (match and float(match.group(1)) <= 100):
        return how
    raise ValueError(f"aggregate must be 'min', 'mean' or 'p<q>' such as 'p10', got {how!r}")


def eligible_windows(
    speech: np.ndarray, min_window_speech: float = MIN_WINDOW_SPEECH
) -> np.ndarray:
    """Boolean mask of the windows that take part: enough speech, else the most speech."""
    speech = np.asarray(speech, dtype=np.float64)
    mask = speech >= min_window_speech
    return mask if mask.any() else speech >= speech.max()


def aggregate_scores(
    scores: np.ndarray,
    speech: np.ndarray | None = None,
    how: str = DEFAULT_AGGREGATE,
    min_window_speech: float = MIN_WINDOW_SPEECH,
) -> float:
    """The utterance score from window ``scores`` and their speech fractions.

    Args:
        scores: one score per window (higher = bona fide).
        speech: the windows' speech fractions (``None``: all windows take part).
        how: ``min``, ``mean`` or ``p<q>`` (see the module docstring).
        min_window_speech: speech fraction a window needs to take part.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        raise ValueError("no window scores to aggregate")
    used = scores if speech is None else scores[eligible_windows(speech, min_window_speech)]
    check_aggregate(how)
    if how == "min":
        return float(used.min())
    if how == "mean":
        return float(used.mean())
    return float(np.percentile(used, float(how[1:])))
