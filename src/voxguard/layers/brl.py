"""Broadcasted residual learning (BC-ResNet, Kim et al., Interspeech 2021) building blocks.

Inputs are 2-D feature maps ``(B, C, F, T)`` (channels, frequency, time). A broadcasted residual
block runs a frequency-wise depthwise conv with :class:`SubSpectralNorm` (``f2``), averages
over frequency to a 1-D ``(B, C, 1, T)`` signal, runs a temporal depthwise (dilated) conv and a
pointwise conv on it (``f1``), and broadcast-adds the result back over frequency, plus the
identity: ``y = x + f2(x) + BC(f1(avgpool_F(f2(x))))``.

Padded batches: every block takes an optional ``mask`` ``(B, T)`` of valid frames and zeroes the
1-D signal before its temporal conv, the only operation that mixes frames, so a padded item's
valid frames see the same zeros an item run alone sees from the conv's own padding.
"""

from __future__ import annotations

import torch
from torch import nn


def _masked(z: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``z`` (B, C, T) with frames outside ``mask`` (B, T) set to zero."""
    return z if mask is None else z * mask[:, None].to(z.dtype)


class SubSpectralNorm(nn.Module):
    """BatchNorm over ``sub_bands`` frequency sub-bands with separate statistics.

    Args:
        channels: number of channels ``C``.
        sub_bands: number of equal frequency groups; falls back to 1 when ``F`` is not
            divisible by it at run time.
    """

    def __init__(self, channels: int, sub_bands: int = 5) -> None:
        super().__init__()
        self.sub_bands = sub_bands
        self.channels = channels
        self.bn = nn.BatchNorm2d(channels * sub_bands)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, f, t = x.shape
        s = self.sub_bands
        if f % s:
            raise ValueError(
                f"SubSpectralNorm: {f} frequency bins are not divisible into {s} sub-bands; "
                "choose sub_bands dividing the frequency size of this stage"
            )
        return self.bn(x.reshape(b, c * s, f // s, t)).reshape(b, c, f, t)


class BroadcastedBlock(nn.Module):
    """Normal BC-ResNet block (same channels in and out, identity shortcut).

    Args:
        channels: channels ``C``.
        dilation: dilation of the temporal depthwise conv.
        sub_bands: SubSpectralNorm sub-bands.
        dropout: channel dropout after the pointwise conv.
    """

    def __init__(
        self, channels: int, dilation: int = 1, sub_bands: int = 5, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.freq_dw = nn.Conv2d(
            channels, channels, (3, 1), padding=(1, 0), groups=channels, bias=False
        )
        self.ssn = SubSpectralNorm(channels, sub_bands)
        self.temp_dw = nn.Conv1d(
            channels, channels, 3, padding=dilation, dilation=dilation, groups=channels, bias=False
        )
        self.bn = nn.BatchNorm1d(channels)
        self.pw = nn.Conv1d(channels, channels, 1, bias=False)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        f2 = self.ssn(self.freq_dw(x))
        z = _masked(f2.mean(dim=2), mask)  # (B, C, T)
        z = self.drop(self.pw(nn.functional.silu(self.bn(self.temp_dw(z)))))
        return torch.relu(x + f2 + z[:, :, None])


class TransitionBlock(nn.Module):
    """BC-ResNet transition block: channel change (and optional frequency stride), no identity.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        freq_stride: stride of the frequency-wise depthwise conv.
        dilation: dilation of the temporal depthwise conv.
        sub_bands: SubSpectralNorm sub-bands.
        dropout: channel dropout after the pointwise conv.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        freq_stride: int = 1,
        dilation: int = 1,
        sub_bands: int = 5,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.expand = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )
        self.freq_dw = nn.Conv2d(
            out_channels,
            out_channels,
            (3, 1),
            stride=(freq_stride, 1),
            padding=(1, 0),
            groups=out_channels,
            bias=False,
        )
        self.ssn = SubSpectralNorm(out_channels, sub_bands)
        self.temp_dw = nn.Conv1d(
            out_channels,
            out_channels,
            3,
            padding=dilation,
            dilation=dilation,
            groups=out_channels,
            bias=False,
        )
        self.bn = nn.BatchNorm1d(out_channels)
        self.pw = nn.Conv1d(out_channels, out_channels, 1, bias=False)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        f2 = self.ssn(self.freq_dw(self.expand(x)))
        z = _masked(f2.mean(dim=2), mask)
        z = self.drop(self.pw(nn.functional.silu(self.bn(self.temp_dw(z)))))
        return torch.relu(f2 + z[:, :, None])


class BroadcastedFFN(nn.Module):
    """Inverted-residual FFN built with BRL (the FFN of a BC-CMT block).

    Pointwise expansion ``C -> r C``, frequency-wise depthwise conv + SubSpectralNorm, a
    broadcast temporal branch (frequency average, temporal depthwise conv, BN, SiLU) added back
    over frequency, then a grouped pointwise projection back to ``C``; identity outside.

    Args:
        channels: channels ``C``.
        ratio: expansion ratio ``r``.
        sub_bands: SubSpectralNorm sub-bands.
        groups: groups of the projection back to ``C``.
    """

    def __init__(self, channels: int, ratio: int = 2, sub_bands: int = 1, groups: int = 1) -> None:
        super().__init__()
        hidden = channels * ratio
        self.expand = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.GELU()
        )
        self.freq_dw = nn.Conv2d(hidden, hidden, (3, 1), padding=(1, 0), groups=hidden, bias=False)
        self.ssn = SubSpectralNorm(hidden, sub_bands)
        self.temp_dw = nn.Conv1d(hidden, hidden, 3, padding=1, groups=hidden, bias=False)
        self.bn = nn.BatchNorm1d(hidden)
        self.project = nn.Sequential(
            nn.Conv2d(hidden, channels, 1, groups=groups, bias=False), nn.BatchNorm2d(channels)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.expand(x)
        f2 = self.ssn(self.freq_dw(h))
        z = nn.functional.silu(self.bn(self.temp_dw(_masked(f2.mean(dim=2), mask))))
        h = nn.functional.gelu(h + f2 + z[:, :, None])
        return x + self.project(h)
