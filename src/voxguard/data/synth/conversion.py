"""Voice-conversion-like attacks: a bona fide utterance re-synthesised as another voice.

Real voice conversion (the VAE family of ASVspoof 2019 and the ``vctk-vc`` validation set:
ACVAE, CycleVAE, AutoVC, VQVC+) maps the source speaker's features to a target speaker's and
re-synthesises them with a vocoder. Nothing on this machine can train a conversion model, so
the conversion here is a drawn speaker transform that carries what those systems share:

- **another voice**: log-F0 shifted by a few semitones and its range compressed; the spectral
  envelope frequency-warped (the all-pass warp of vocal-tract-length normalisation: a longer or
  shorter vocal tract, formants moved together);
- **over-smoothing**: the envelope through a low-order mel-cepstrum, a moving average over time
  and its global variance shrunk (what a VAE decoder's averaging does to its output, Toda et
  al.'s "global variance");
- **re-synthesis** by WORLD with coded band aperiodicity (the WORLD-based systems) or by a neural
  vocoder trained here from the converted log-mel (the mel-based ones).

The words, timing and channel are the source's, so a bona fide file and its conversion form a
matched pair, like the engine's vocoder copies; only the speaker and the generation differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from voxguard.data.synth import vocoders

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class VoiceTransform:
    """One drawn conversion (every field is drawn from the file's seed by :func:`draw`)."""

    f0_semitones: float  # log-F0 shift
    f0_range: float  # log-F0 deviations around the mean scaled by this
    warp_alpha: float  # all-pass frequency warp; > 0 moves formants down (longer vocal tract)
    smooth_frames: int  # moving-average length over the envelope frames (odd)
    gv_scale: float  # deviations of each envelope coefficient around its mean scaled by this
    mcep_order: int  # order of the mel-cepstrum the WORLD envelope passes through


def draw(seed: int) -> VoiceTransform:
    """A conversion for ``seed``: opposite-sign F0 shift and warp (a higher voice has shorter
    formant spacing), ranges wide enough to cover same- and cross-gender conversion."""
    rng = np.random.default_rng([seed, 0x5C])
    sign = 1.0 if rng.random() < 0.5 else -1.0
    return VoiceTransform(
        f0_semitones=float(sign * rng.uniform(0.5, 7.0)),
        f0_range=float(rng.uniform(0.6, 1.0)),
        warp_alpha=float(-sign * rng.uniform(0.02, 0.12)),
        smooth_frames=int(rng.choice([1, 3, 5, 7])),
        gv_scale=float(rng.uniform(0.6, 0.95)),
        mcep_order=int(rng.choice([24, 32, 40])),
    )


def warp_axis(n: int, alpha: float) -> np.ndarray:
    """Where on an ``n``-point axis over [0, pi] each point reads from after an all-pass warp.

    ``w' = w + 2 atan(alpha sin w / (1 - alpha cos w))`` (Oppenheim's bilinear frequency warp),
    returned in fractional bin indices; the end points stay fixed.
    """
    w = np.linspace(0.0, math.pi, n)
    warped = w + 2.0 * np.arctan(alpha * np.sin(w) / (1.0 - alpha * np.cos(w)))
    return warped / math.pi * (n - 1)


def _resample_rows(x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Each row of ``x`` (frames, bins) linearly read at fractional bin ``positions``."""
    lo = np.clip(np.floor(positions).astype(int), 0, x.shape[1] - 1)
    hi = np.clip(lo + 1, 0, x.shape[1] - 1)
    frac = np.clip(positions - lo, 0.0, 1.0)
    return x[:, lo] * (1 - frac) + x[:, hi] * frac


def _smooth_time(x: np.ndarray, frames: int) -> np.ndarray:
    """Moving average of ``x`` (frames, dims) over ``frames`` frames (edges padded by repetition)."""
    if frames <= 1 or len(x) < 2:
        return x
    pad = frames // 2
    padded = np.pad(x, ((pad, pad), (0, 0)), mode="edge")
    c = np.cumsum(np.pad(padded, ((1, 0), (0, 0))), axis=0)
    return (c[frames:] - c[:-frames]) / frames


def _shrink_variance(x: np.ndarray, scale: float, first: int = 0) -> np.ndarray:
    """Deviations of columns ``first:`` of ``x`` around their mean over time scaled by ``scale``."""
    out = x.copy()
    mean = x[:, first:].mean(axis=0, keepdims=True)
    out[:, first:] = mean + scale * (x[:, first:] - mean)
    return out


def _shift_f0(f0: np.ndarray, tf: VoiceTransform) -> np.ndarray:
    voiced = f0 > 0
    if not voiced.any():
        return f0
    lf = np.log(f0[voiced])
    mean = lf.mean()
    out = f0.copy()
    out[voiced] = np.exp(mean + tf.f0_semitones * math.log(2) / 12 + tf.f0_range * (lf - mean))
    return np.clip(out, 0.0, 600.0) * voiced


def world_vc(
    wav: np.ndarray,
    seed: int,
    sample_rate: int = SAMPLE_RATE,
    frame_period: float = 5.0,
    smooth: bool = True,
) -> np.ndarray:
    """WORLD analysis, the drawn conversion of F0 and envelope, coded aperiodicity, synthesis
    (``smooth=False``: the envelope is warped but not over-smoothed)."""
    what = "WORLD voice conversion"
    pysptk = vocoders.require_module("pysptk", what, "pyworld pysptk")
    pyworld = vocoders.require_module("pyworld", what, "pyworld pysptk")
    tf = draw(seed)
    f0, sp, ap = vocoders.world_analysis(wav, sample_rate, frame_period)
    fft_len = (sp.shape[1] - 1) * 2
    log_sp = _resample_rows(np.log(np.maximum(sp, 1e-16)), warp_axis(sp.shape[1], tf.warp_alpha))
    mc = pysptk.sp2mc(np.exp(log_sp), order=tf.mcep_order, alpha=0.42)
    if smooth:  # c0 (energy) keeps its variance
        mc = _shrink_variance(_smooth_time(mc, tf.smooth_frames), tf.gv_scale, first=1)
    sp_conv = np.ascontiguousarray(
        pysptk.mc2sp(np.ascontiguousarray(mc), alpha=0.42, fftlen=fft_len)
    )
    coded = pyworld.code_aperiodicity(ap, sample_rate)
    ap_conv = pyworld.decode_aperiodicity(np.ascontiguousarray(coded), sample_rate, fft_len)
    y = pyworld.synthesize(_shift_f0(f0, tf), sp_conv, ap_conv, sample_rate, frame_period)
    y = y[: len(wav)]
    if len(y) < len(wav):
        y = np.pad(y, (0, len(wav) - len(y)))
    return y.astype(np.float32)


def smooth_log_mel(mel: torch.Tensor, seed: int) -> torch.Tensor:
    """The drawn over-smoothing applied to a log-mel ``(1, n_mels, frames)``: a moving average
    over at most 3 frames (hops are 16 ms here) and the variance of every band shrunk."""
    tf = draw(seed)
    x = mel[0].T.numpy().astype(np.float64)  # (frames, n_mels)
    x = _shrink_variance(_smooth_time(x, min(tf.smooth_frames, 3)), tf.gv_scale)
    return torch.from_numpy(x.T[None].astype(np.float32))


def neural_vc(wav: np.ndarray, vocoder: str, seed: int) -> np.ndarray:
    """A mel-based conversion: F0 and envelope converted (WORLD, not yet smoothed), its log-mel
    over-smoothed and re-synthesised by the neural vocoder ``vocoder`` trained here.

    The voice is changed before the mel rather than by warping the mel itself: a warp of the
    mel axis smears the resolved harmonics of the low bands, and the small vocoders trained here
    then lose most voicing (measured: voiced frames 0.23 → 0.04-0.08 of the utterance).
    """
    from voxguard.data.synth.neural_vocoders import vocode

    converted = world_vc(wav, seed, smooth=False)
    return vocode(converted, vocoder, mel_transform=lambda mel: smooth_log_mel(mel, seed))
