"""Affine (logistic-regression) calibration of scores to log-likelihood ratios (numpy only).

``llr = scale * score + offset`` is fitted on development scores by minimising the
prior-weighted logistic cost (the Cllr at the target prior, as in BOSARIS / FoCal):

    C(a, b) = P/N1 * sum_bona softplus(-(a s + b + logit P))
            + (1 - P)/N0 * sum_spoof softplus(a s + b + logit P)

so the output is an LLR (natural log) that does not depend on the class proportions of the dev set.
Positive class = bona fide / target (label 1); higher scores = bona fide before and after.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from voxguard.errors import ParseError, VoxguardError

__all__ = ["AffineCalibrator", "llr_to_posterior", "logit"]

_FORMAT = "voxguard-affine-calibration"


def logit(p: float) -> float:
    """``ln(p / (1 - p))`` for a prior ``p`` in (0, 1)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"a prior must be in (0, 1), got {p}")
    return math.log(p) - math.log1p(-p)


def llr_to_posterior(llr: ArrayLike, prior: float = 0.5) -> np.ndarray:
    """Posterior probability of the positive class given LLRs and its prior.

    ``P(bona fide | x) = sigmoid(llr + logit(prior))``.
    """
    x = np.asarray(llr, dtype=np.float64) + logit(prior)
    with np.errstate(over="ignore"):
        return np.exp(-np.logaddexp(0.0, -x))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.exp(-np.logaddexp(0.0, -x))


@dataclass
class AffineCalibrator:
    """Affine score-to-LLR calibration, fitted with prior-weighted logistic regression.

    Attributes:
        scale: multiplier ``a`` of the score (positive after a sensible fit).
        offset: additive ``b``.
        prior: target prior the calibration was fitted at.
    """

    scale: float = 1.0
    offset: float = 0.0
    prior: float = 0.5

    def fit(
        self,
        scores: ArrayLike,
        labels: ArrayLike,
        prior: float = 0.5,
        l2: float = 1e-6,
        max_iter: int = 100,
    ) -> AffineCalibrator:
        """Fit on development scores; returns ``self``.

        Args:
            scores: raw scores, higher = bona fide / target.
            labels: 1 = bona fide / target, 0 = spoof / non-target.
            prior: effective prior of the positive class (e.g. 0.95 for ASVspoof 5's Pspoof 0.05).
            l2: tiny ridge on the scale, keeps the fit finite when dev scores are separable.
            max_iter: Newton iterations at most.
        """
        s = np.asarray(scores, dtype=np.float64).ravel()
        y = np.asarray(labels).ravel()
        if s.shape != y.shape:
            raise VoxguardError(
                f"calibration: {s.size} scores but {y.size} labels; pass one label per score"
            )
        if not np.all(np.isfinite(s)):
            raise VoxguardError(
                "calibration: scores contain NaN/inf; drop failed trials before fitting"
            )
        pos = y == 1
        n1, n0 = int(pos.sum()), int((~pos).sum())
        if n1 == 0 or n0 == 0:
            raise VoxguardError(
                f"calibration needs both classes in the dev set (got {n1} positive, {n0} negative)"
            )
        mu, sd = float(s.mean()), float(s.std()) or 1.0
        z = (s - mu) / sd  # standardised for a well-conditioned Newton step
        lp = logit(prior)
        w = np.where(pos, prior / n1, (1.0 - prior) / n0)
        t = pos.astype(np.float64)
        x = np.stack([z, np.ones_like(z)], axis=1)
        theta = np.zeros(2)
        reg = np.array([l2, 0.0])

        def objective(th: np.ndarray) -> float:
            a = x @ th + lp  # weighted logistic loss, written to stay finite for large |a|
            loss = np.where(pos, np.logaddexp(0.0, -a), np.logaddexp(0.0, a))
            return float(w @ loss + 0.5 * reg @ th**2)

        current = objective(theta)
        for _ in range(max_iter):
            p = _sigmoid(x @ theta + lp)
            grad = x.T @ (w * (p - t)) + reg * theta
            hess = (x * (w * p * (1.0 - p))[:, None]).T @ x + np.diag(reg + 1e-12)
            step = np.linalg.solve(hess, grad)
            # Damped Newton: halve the step until the cost falls (plain Newton can overshoot
            # and diverge when the classes are nearly separable at an extreme prior).
            rate = 1.0
            while rate > 1e-10 and objective(theta - rate * step) > current:
                rate *= 0.5
            theta = theta - rate * step
            current = objective(theta)
            if np.max(np.abs(rate * step)) < 1e-12:
                break
        a_z, b_z = float(theta[0]), float(theta[1])
        self.scale = a_z / sd
        self.offset = b_z - a_z * mu / sd
        self.prior = float(prior)
        return self

    def transform(self, scores: ArrayLike) -> np.ndarray:
        """Calibrated natural-log LLRs of ``scores`` (an overflow gives ±inf, quietly: the callers
        that need finite LLRs check and refuse them with a message naming the calibration)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self.scale * np.asarray(scores, dtype=np.float64) + self.offset

    def posterior(self, scores: ArrayLike, prior: float | None = None) -> np.ndarray:
        """Posterior of the positive class at ``prior`` (default: the fitting prior)."""
        return llr_to_posterior(self.transform(scores), self.prior if prior is None else prior)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description of the calibration."""
        return {"format": _FORMAT, "scale": self.scale, "offset": self.offset, "prior": self.prior}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AffineCalibrator:
        """Inverse of :meth:`to_dict`."""
        if d.get("format") != _FORMAT:
            raise VoxguardError(
                f"not a voxguard calibration (format={d.get('format')!r}); "
                "create one with `voxguard calibrate DEV_SCORES DEV_KEYS --out calib.json`"
            )
        try:
            scale, offset, prior = float(d["scale"]), float(d["offset"]), float(d["prior"])
        except (KeyError, TypeError, ValueError) as exc:
            raise VoxguardError(
                f"calibration lacks a numeric field ({exc}); refit it with "
                "`voxguard calibrate DEV_SCORES DEV_KEYS --out calib.json`"
            ) from exc
        if not (math.isfinite(scale) and math.isfinite(offset)):
            raise VoxguardError(
                f"calibration scale={scale} offset={offset} are not finite numbers; refit it "
                "with `voxguard calibrate DEV_SCORES DEV_KEYS --out calib.json`"
            )
        if not 0.0 < prior < 1.0:
            raise VoxguardError(
                f"calibration prior={prior} is outside (0, 1); refit it with "
                "`voxguard calibrate DEV_SCORES DEV_KEYS --out calib.json`"
            )
        return cls(scale=scale, offset=offset, prior=prior)

    def save(self, path: str | Path) -> None:
        """Write the calibration as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> AffineCalibrator:
        """Read a calibration written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise VoxguardError(f"{path}: calibration file not found") from exc
        except IsADirectoryError as exc:
            raise VoxguardError(f"{path}: is a folder; pass the calibration JSON file") from exc
        except UnicodeDecodeError as exc:
            raise VoxguardError(
                f"{path}: not a text file; pass the JSON written by `voxguard calibrate --out`"
            ) from exc
        except OSError as exc:
            raise VoxguardError(f"{path}: cannot be read ({exc.strerror})") from exc
        except json.JSONDecodeError as exc:
            raise ParseError(
                path,
                exc.lineno,
                f"invalid JSON ({exc.msg}); pass the file `voxguard calibrate` wrote",
            ) from exc
        if not isinstance(data, dict):
            raise ParseError(path, 1, "expected a JSON object written by AffineCalibrator.save")
        try:
            return cls.from_dict(data)
        except VoxguardError as exc:
            raise VoxguardError(f"{path}: {exc}") from exc
