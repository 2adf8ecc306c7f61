"""The fixed sinc band-pass filterbank of AASIST (a RawNet2-style ``SincConv`` without training).

The filters are Hamming-windowed ideal band-pass filters whose edges are equally spaced on the
mel scale between 0 Hz and Nyquist. They are not learned, so they are a non-persistent buffer:
they never appear in a state dict (matching the official AASIST checkpoints) and are rebuilt
from the constructor arguments.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def sinc_filters(out_channels: int, kernel_size: int, sample_rate: int = 16000) -> torch.Tensor:
    """Mel-spaced Hamming-windowed band-pass filters, ``(out_channels, kernel_size)`` float32.

    An even ``kernel_size`` is raised by one so that every filter is symmetric.
    """
    if kernel_size % 2 == 0:
        kernel_size += 1
    freqs = (sample_rate // 2) * np.linspace(0.0, 1.0, 512 // 2 + 1)
    mel = _to_mel(freqs)
    edges = _to_hz(np.linspace(mel.min(), mel.max(), out_channels + 1))
    support = np.arange(-(kernel_size - 1) / 2, (kernel_size - 1) / 2 + 1)
    window = np.hamming(kernel_size)
    bank = np.empty((out_channels, kernel_size))
    for i in range(out_channels):
        low, high = edges[i], edges[i + 1]
        high_pass = (2 * high / sample_rate) * np.sinc(2 * high * support / sample_rate)
        low_pass = (2 * low / sample_rate) * np.sinc(2 * low * support / sample_rate)
        bank[i] = window * (high_pass - low_pass)
    return torch.from_numpy(bank).float()


class SincConv(nn.Module):
    """Fixed sinc filterbank convolution on raw waveforms.

    Args:
        out_channels: number of band-pass filters.
        kernel_size: filter length in samples (an even length is raised by one).
        sample_rate: sampling rate the filter edges are computed for.
    """

    def __init__(self, out_channels: int, kernel_size: int, sample_rate: int = 16000) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.sample_rate = sample_rate
        bank = sinc_filters(out_channels, kernel_size, sample_rate)
        self.kernel_size = bank.shape[1]
        self.register_buffer("filters", bank[:, None, :], persistent=False)

    def forward(self, x: torch.Tensor, freq_mask: bool = False) -> torch.Tensor:
        """(B, 1, T) -> (B, out_channels, T - kernel_size + 1).

        Args:
            x: waveforms with a channel axis.
            freq_mask: zero a random contiguous band of 0-19 filters (AASIST's ``Freq_aug``
                training augmentation); uses torch's global RNG.
        """
        filters = self.filters
        if freq_mask:
            width = int(torch.randint(0, 20, ()).item())
            start = int(torch.randint(0, self.out_channels - width + 1, ()).item())
            filters = filters.clone()
            filters[start : start + width] = 0.0
        return F.conv1d(x, filters)

    def extra_repr(self) -> str:
        return f"out_channels={self.out_channels}, kernel_size={self.kernel_size}, sample_rate={self.sample_rate}"
