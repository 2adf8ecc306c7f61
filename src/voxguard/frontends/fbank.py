"""Kaldi-style log-mel filterbank features in pure torch (ONNX-exportable).

``Fbank`` follows Kaldi's ``compute-fbank-feats`` defaults as used by speaker-verification
recipes (wespeaker, speechbrain): 25 ms frames every 10 ms (``snip_edges``), per-frame DC
removal, pre-emphasis 0.97, Povey window, 512-point power spectrum, 80 triangular mel filters
on Kaldi's mel scale (20 Hz to Nyquist), natural log floored at float epsilon, then cepstral
mean normalisation over the valid frames. Waveforms in [-1, 1] are scaled by 32768 first, as
Kaldi reads 16-bit integers. The DFT is a real matmul against a fixed cosine/sine basis (no
complex ``torch.stft``), so the module exports to ONNX at any input length.
"""

from __future__ import annotations

import math

import torch
from torch import nn

EPS = torch.finfo(torch.float32).eps


def kaldi_mel(freq: torch.Tensor) -> torch.Tensor:
    """Kaldi's mel scale: ``1127 ln(1 + f / 700)``."""
    return 1127.0 * torch.log1p(freq / 700.0)


def mel_filterbank(
    n_mels: int, n_fft: int, sample_rate: int, low_hz: float = 20.0, high_hz: float = 0.0
) -> torch.Tensor:
    """Kaldi's triangular mel filters, ``(n_fft // 2 + 1, n_mels)`` (the Nyquist bin gets 0).

    Args:
        n_mels: number of filters.
        n_fft: FFT size.
        sample_rate: sampling rate in Hz.
        low_hz: lower edge of the first filter.
        high_hz: upper edge of the last filter; ``<= 0`` means Nyquist + ``high_hz``.
    """
    nyquist = sample_rate / 2.0
    high = high_hz if high_hz > 0 else nyquist + high_hz
    n_bins = n_fft // 2
    freqs = torch.arange(n_bins, dtype=torch.float64) * sample_rate / n_fft
    mel = kaldi_mel(freqs)
    mel_low, mel_high = (
        kaldi_mel(torch.tensor(low_hz, dtype=torch.float64)),
        kaldi_mel(torch.tensor(high, dtype=torch.float64)),
    )
    delta = (mel_high - mel_low) / (n_mels + 1)
    edges = mel_low + delta * torch.arange(n_mels + 2, dtype=torch.float64)
    left, center, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (mel[None] - left) / (center - left)
    down = (right - mel[None]) / (right - center)
    weights = torch.clamp(torch.minimum(up, down), min=0.0)  # (n_mels, n_bins)
    weights = torch.cat([weights, torch.zeros(n_mels, 1, dtype=torch.float64)], dim=1)
    return weights.T.contiguous().float()


def povey_window(length: int) -> torch.Tensor:
    """Kaldi's Povey window: a Hann window (denominator ``length - 1``) raised to 0.85."""
    n = torch.arange(length, dtype=torch.float64)
    return (0.5 - 0.5 * torch.cos(2 * math.pi * n / (length - 1))).pow(0.85)


class Fbank(nn.Module):
    """``(wav (B, T), lengths (B,) | None) -> (feats (B, T', n_mels), frame lengths (B,))``.

    Args:
        n_mels: number of mel filters (80 for the speaker models).
        sample_rate: expected input rate in Hz.
        frame_ms: frame length in milliseconds.
        hop_ms: frame shift in milliseconds.
        preemphasis: pre-emphasis coefficient.
        dither: Gaussian dither (in 16-bit units) added in training mode only.
        cmn: subtract the per-utterance mean of each bin over the valid frames.
        scale: multiply the waveform by this first (32768 mimics Kaldi's int16 input).
    """

    def __init__(
        self,
        n_mels: int = 80,
        sample_rate: int = 16000,
        frame_ms: float = 25.0,
        hop_ms: float = 10.0,
        preemphasis: float = 0.97,
        dither: float = 0.0,
        cmn: bool = True,
        scale: float = 32768.0,
    ) -> None:
        super().__init__()
        self.n_mels = n_mels
        self.sample_rate = sample_rate
        self.frame_length = int(round(sample_rate * frame_ms / 1000))
        self.hop_length = int(round(sample_rate * hop_ms / 1000))
        self.n_fft = 1 << (self.frame_length - 1).bit_length()
        self.preemphasis = preemphasis
        self.dither = dither
        self.cmn = cmn
        self.scale = scale
        n = self.frame_length
        # Fold DC removal, pre-emphasis and the window into one (n, n) linear map, then the
        # real DFT into the cos/sin basis: frames @ basis gives [Re | Im] in one matmul.
        dc = torch.eye(n, dtype=torch.float64) - 1.0 / n
        pre = torch.eye(n, dtype=torch.float64)
        pre[1:, :] -= preemphasis * torch.eye(n, dtype=torch.float64)[:-1, :]
        pre[0, 0] -= preemphasis
        window = torch.diag(povey_window(n))
        prep = window @ pre @ dc  # applied to a column frame vector
        k = torch.arange(self.n_fft // 2 + 1, dtype=torch.float64)
        t = torch.arange(n, dtype=torch.float64)
        angle = 2 * math.pi * t[:, None] * k[None] / self.n_fft
        dft = torch.cat([torch.cos(angle), -torch.sin(angle)], dim=1)  # (n, 2K)
        self.register_buffer("basis", (prep.T @ dft).float(), persistent=False)
        self.register_buffer(
            "mel", mel_filterbank(n_mels, self.n_fft, sample_rate), persistent=False
        )

    def num_frames(self, lengths: torch.Tensor) -> torch.Tensor:
        """Frames Kaldi produces (``snip_edges``) for ``lengths`` samples (at least 1)."""
        frames = torch.div(lengths - self.frame_length, self.hop_length, rounding_mode="floor") + 1
        return torch.clamp(frames, min=1)

    def forward(
        self, wav: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-mel features of a batch of waveforms (see the class docstring)."""
        if wav.dim() == 1:
            wav = wav[None]
        batch, total = wav.shape
        if total < self.frame_length:  # one frame of zero-padded audio, never an empty output
            wav = nn.functional.pad(wav, (0, self.frame_length - total))
            total = self.frame_length
        x = wav.float() * self.scale
        if self.training and self.dither > 0:
            x = x + self.dither * torch.randn_like(x)
        n_frames = (total - self.frame_length) // self.hop_length + 1
        idx = (
            torch.arange(n_frames, device=x.device)[:, None] * self.hop_length
            + torch.arange(self.frame_length, device=x.device)[None]
        )
        frames = x[:, idx]  # (B, T', n)
        spec = frames @ self.basis
        half = spec.shape[-1] // 2
        power = spec[..., :half] ** 2 + spec[..., half:] ** 2
        feats = torch.log(torch.clamp(power @ self.mel, min=EPS))
        if lengths is None:
            frame_lengths = torch.full((batch,), n_frames, dtype=torch.long, device=x.device)
        else:
            frame_lengths = torch.clamp(self.num_frames(lengths.to(x.device).long()), max=n_frames)
        if self.cmn:
            feats = cmn(feats, frame_lengths)
        return feats, frame_lengths


def length_mask(lengths: torch.Tensor, total: int) -> torch.Tensor:
    """Boolean ``(B, total)`` mask, True inside each item's ``lengths``."""
    return torch.arange(total, device=lengths.device)[None] < lengths[:, None]


def cmn(feats: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Subtract each item's mean over its valid frames (``feats`` is ``(B, T', D)``)."""
    mask = length_mask(lengths, feats.shape[1]).to(feats.dtype)[..., None]
    mean = (feats * mask).sum(1, keepdim=True) / mask.sum(1, keepdim=True).clamp(min=1.0)
    return feats - mean
