"""LCNN countermeasures on linear-frequency features (no pretrained model).

The light CNN of the ASVspoof 2019/2021 LFCC-LCNN baseline (Wang & Yamagishi, "A comparative
study on recent neural spoofing countermeasures for synthetic speech detection", Interspeech
2021; their ``baseline_LA`` project): nine convolutions with max-feature-map (MFM) activations
and affine-free batch norm, four 2x2 max-pools, dropout 0.7, two BLSTM layers with a residual
connection, the mean over time and a linear output.

Decisions written down here:
- The baseline outputs one logit for a sigmoid loss; ours follows voxguard's CM contract,
  ``forward(wav (B, T), lengths=None) -> logits (B, 2)``, index 1 = bona fide (two logits, a
  cross-entropy; the LLR is their difference).
- ``width`` scales every convolution's channel count (1.0 = the baseline's 64-32-96-48-...);
  ``pooling="stats"`` replaces the two BLSTMs by the mean and standard deviation over time, for
  wide inputs (a log spectrogram's 257 bins would make the BLSTMs 3M parameters).
- ``features="logspec"`` swaps LFCC for the 257-bin log power spectrogram (fine harmonic
  structure, where Griffin-Lim and WORLD/MLSA copies differ from speech; the Whisper front-end's
  80 mel bands smooth it away). The time axis is the CNN's first spatial axis, as in the
  baseline (``(B, 1, T, D)``).
- ``features="logmel"``: 80 log mel bands (25 ms frames every 10 ms, per-band CMN), the
  front-end study's log-mel row: what a mel front-end keeps, on the same network as ``lcnn_spec``.
- ``features="widespec"``: the wide-band log spectrogram (4-ms Hann frames every 2 ms, 33
  bins), where each glottal pulse is a vertical stripe. A copy re-synthesised from a 32-ms
  magnitude spectrogram (Griffin-Lim, from its own 512-point STFT) keeps that magnitude exactly,
  so a narrow-band front-end cannot tell it from its source; its phases are reconstructed, so
  the harmonics of a pitch period no longer line up and the stripes smear. Measured before
  building it (80 LibriSpeech utterances and their Griffin-Lim copies, half of both through a
  codec / noise / reverberation, a logistic regression on per-band temporal statistics, 5-fold
  by utterance): 19 % EER wide-band against 30 % narrow-band; on the relative phase shifts of
  the first 12 harmonics, the physical cue the stripes show, 7.5 %.
- ``features="widephase"``: the same wide-band frames with two more input channels, the cosine
  and sine of the phase step between neighbouring bins (``PhaseSpectrogram``): the alignment of
  a pulse's harmonics itself, not only its trace in the magnitude. Only the first convolution
  grows (3 input channels).
- ``head="ocsoftmax"``: the output layer is ``OneClassHead``, the cosine between the pooled
  embedding and one learned direction, trained with the one-class softmax of
  ``voxguard.losses.ocsoftmax`` (Zhang et al. 2021) instead of a cross-entropy. It still returns
  two logits, ``(-cos, cos)``, so the LLR is ``2 cos`` before calibration and every caller
  (fusion, ONNX, the detector) is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from voxguard.frontends.fbank import length_mask
from voxguard.frontends.spectrogram import LFCC, LogMel, LogSpectrogram, PhaseSpectrogram
from voxguard.models._registry import Variant, register_variants


@dataclass(frozen=True)
class LCNNConfig:
    """Architecture of an LCNN countermeasure (see the module docstring)."""

    features: str = "lfcc"  # a key of FRONTENDS: "lfcc", "logspec", "widespec", "widephase", "logmel"
    width: float = 1.0
    pooling: str = "blstm"  # "blstm" (the baseline) or "stats"
    dropout: float = 0.7
    sample_rate: int = 16000
    head: str = "linear"  # "linear" (two logits, cross-entropy) or "ocsoftmax" (OneClassHead)


class MaxFeatureMap(nn.Module):
    """Split the ``channels`` in two halves and keep the element-wise maximum (the half size is
    a constant, so exported graphs know the channel count the next batch norm needs)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.half = channels // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.maximum(x[:, : self.half], x[:, self.half : 2 * self.half])


def _channels(width: float) -> list[int]:
    # conv output channels of the baseline before MFM halves them
    return [max(2, int(round(c * width / 2)) * 2) for c in (64, 64, 96, 96, 128, 128, 64, 64, 64)]


def _body(width: float, in_channels: int = 1) -> tuple[nn.Sequential, int]:
    c = _channels(width)
    h = [v // 2 for v in c]
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, c[0], 5, padding=2),
        MaxFeatureMap(c[0]),
        nn.MaxPool2d(2),
        nn.Conv2d(h[0], c[1], 1),
        MaxFeatureMap(c[1]),
        nn.BatchNorm2d(h[1], affine=False),
        nn.Conv2d(h[1], c[2], 3, padding=1),
        MaxFeatureMap(c[2]),
        nn.MaxPool2d(2),
        nn.BatchNorm2d(h[2], affine=False),
        nn.Conv2d(h[2], c[3], 1),
        MaxFeatureMap(c[3]),
        nn.BatchNorm2d(h[3], affine=False),
        nn.Conv2d(h[3], c[4], 3, padding=1),
        MaxFeatureMap(c[4]),
        nn.MaxPool2d(2),
        nn.Conv2d(h[4], c[5], 1),
        MaxFeatureMap(c[5]),
        nn.BatchNorm2d(h[5], affine=False),
        nn.Conv2d(h[5], c[6], 3, padding=1),
        MaxFeatureMap(c[6]),
        nn.BatchNorm2d(h[6], affine=False),
        nn.Conv2d(h[6], c[7], 1),
        MaxFeatureMap(c[7]),
        nn.BatchNorm2d(h[7], affine=False),
        nn.Conv2d(h[7], c[8], 3, padding=1),
        MaxFeatureMap(c[8]),
        nn.MaxPool2d(2),
    ]
    return nn.Sequential(*layers), h[8]


#: LCNN front-ends by ``LCNNConfig.features``: each ``(wav, lengths) -> (feats, frames)`` with
#: feats ``(B, T', D)``, or ``(B, C, T', D)`` for a front-end with a ``channels`` attribute
FRONTENDS = {
    "lfcc": LFCC,
    "logspec": LogSpectrogram,
    "widespec": lambda: LogSpectrogram(frame_length=64, hop_length=32, n_fft=64),
    "widephase": PhaseSpectrogram,
    "logmel": LogMel,
}


class OneClassHead(nn.Module):
    """Cosine between the embedding and one learned direction, as two logits ``(-cos, cos)``
    (index 1 = bona fide), for the one-class softmax loss (``voxguard.losses.ocsoftmax``)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(1, dim))
        nn.init.kaiming_uniform_(self.weight, a=0.25)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cos = nn.functional.linear(
            nn.functional.normalize(x, dim=-1), nn.functional.normalize(self.weight, dim=-1)
        )
        return torch.cat([-cos, cos], dim=-1)


class LCNN(nn.Module):
    """``features`` front-end -> LCNN body -> BLSTMs or stats pooling -> ``Linear(., 2)``."""

    def __init__(self, cfg: LCNNConfig = LCNNConfig()) -> None:
        super().__init__()
        if cfg.features not in FRONTENDS:
            raise ValueError(
                f"unknown LCNN features {cfg.features!r}; use one of {', '.join(FRONTENDS)}"
            )
        if cfg.pooling not in ("blstm", "stats"):
            raise ValueError(f"unknown LCNN pooling {cfg.pooling!r}; use 'blstm' or 'stats'")
        if cfg.head not in ("linear", "ocsoftmax"):
            raise ValueError(f"unknown LCNN head {cfg.head!r}; use 'linear' or 'ocsoftmax'")
        self.head = cfg.head
        self.sample_rate = cfg.sample_rate
        self.frontend = FRONTENDS[cfg.features]()
        self.body, channels = _body(cfg.width, getattr(self.frontend, "channels", 1))
        self.dropout = nn.Dropout(cfg.dropout)
        dim = channels * (self.frontend.dim // 16)
        self.pooling = cfg.pooling
        if cfg.pooling == "blstm":
            self.lstm1 = nn.LSTM(dim, dim // 2, batch_first=True, bidirectional=True)
            self.lstm2 = nn.LSTM(dim, dim // 2, batch_first=True, bidirectional=True)
        pooled_dim = dim if cfg.pooling == "blstm" else 2 * dim
        self.out = OneClassHead(pooled_dim) if cfg.head == "ocsoftmax" else nn.Linear(pooled_dim, 2)

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B, 2)`` (index 1 = bona fide) for waveforms ``(B, T)`` at 16 kHz."""
        feats, frames = self.frontend(wav, lengths)  # (B, T', D) or (B, C, T', D)
        if feats.dim() == 3:
            feats = feats[:, None]
        total = feats.shape[2]
        if (
            lengths is not None
        ):  # frames past an item's length are zeros: padding never reaches the CNN
            feats = feats * length_mask(frames, total).to(feats.dtype)[:, None, :, None]
        if total < 16:  # four 2x poolings need 16 frames: repeat a very short input
            feats = feats.repeat(1, 1, -(-16 // total), 1)[:, :, :16]
            frames = torch.full_like(frames, 16)
        hidden = self.dropout(self.body(feats))  # (B, C, T'/16, D/16)
        batch, channels, steps, bins = hidden.shape
        hidden = hidden.permute(0, 2, 1, 3).reshape(batch, steps, channels * bins)
        valid = length_mask(torch.clamp(frames // 16, min=1, max=steps), steps).to(hidden.dtype)[
            ..., None
        ]
        if self.pooling == "blstm":
            seq, _ = self.lstm1(hidden)
            seq, _ = self.lstm2(seq)
            seq = seq + hidden
            pooled = (seq * valid).sum(1) / valid.sum(1)
        else:
            mean = (hidden * valid).sum(1) / valid.sum(1)
            var = (((hidden - mean[:, None]) ** 2) * valid).sum(1) / valid.sum(1)
            pooled = torch.cat([mean, torch.sqrt(var + 1e-5)], dim=-1)
        return self.out(pooled)


register_variants(
    LCNN,
    task="cm",
    variants={
        "lcnn_lfcc": Variant(
            LCNNConfig("lfcc", 1.0, "blstm"),
            "LFCC-LCNN: the ASVspoof 2019/2021 baseline (60-d LFCC, LCNN, 2 BLSTMs)",
        ),
        "lcnn_spec": Variant(
            LCNNConfig("logspec", 0.5, "stats"),
            "LCNN (half width) on the 257-bin log power spectrogram, mean + std pooling",
        ),
        "lcnn_mel": Variant(
            LCNNConfig("logmel", 0.5, "stats"),
            "LCNN (half width) on 80 log mel bands (25 ms / 10 ms), mean + std pooling",
        ),
        "lcnn_wide": Variant(
            LCNNConfig("widespec", 0.5, "stats"),
            "LCNN (half width) on the wide-band (4-ms) log spectrogram, mean + std pooling",
        ),
        "lcnn_widephase": Variant(
            LCNNConfig("widephase", 0.5, "stats"),
            "LCNN (half width) on the wide-band log spectrogram + its group-delay phase channels",
        ),
        "lcnn_wide_oc": Variant(
            LCNNConfig("widespec", 0.5, "stats", head="ocsoftmax"),
            "lcnn_wide with a one-class softmax head (cosine to one bona fide direction)",
        ),
    },
)
