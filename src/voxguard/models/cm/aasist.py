"""Sinc front-end AASIST and AASIST-L (Jung et al., ICASSP 2022) on raw 16 kHz waveforms.

Where the AASIST family lives:

- this module: the raw-waveform models ``aasist`` (297,866 params, official ``AASIST.conf``)
  and ``aasist_l`` (85,306, ``AASIST-L.conf``); the official ``.pth`` files load strictly;
- :mod:`.graph_backend`: the same graph module on SSL features, ``ssl_aasist`` and the
  SpAArSIST variants ``spaarsist_base`` / ``spaarsist_mag`` / ``spaarsist_rank1``;
- :mod:`.spaarsist`: the SpAArSIST evaluation protocol (a base checkpoint evaluated as a
  magnitude / mean / rank-1 / k_infer variant) and the public-checkpoint importer;
- :mod:`._aasist_graph`: what both share, the residual encoder and the graph module
  (GAT-S / GAT-T, graph pools, two HS-GAL branches, readout), on :mod:`voxguard.layers.graph`.

State-dict names follow the official code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from voxguard.frontends.sinc import SincConv
from voxguard.models._registry import Variant, register_variants
from voxguard.models.cm._aasist_graph import (
    AASIST_FILTS,
    TEMPERATURES,
    AASISTGraph,
    Filts,
    make_encoder,
)

__all__ = ["AASIST", "AASIST_CONFIG", "AASIST_L_CONFIG", "AASISTConfig"]


@dataclass(frozen=True)
class AASISTConfig:
    """Architecture of the sinc front-end AASIST (fields of the official ``model_config``).

    ``filts[0]`` of the official config is ``sinc_channels``; ``freq_aug`` enables the
    official random sinc-band masking in training mode.
    """

    first_conv: int = 128
    sinc_channels: int = 70
    filts: Filts = AASIST_FILTS
    gat_dims: tuple[int, int] = (64, 32)
    pool_ratios: tuple[float, float, float, float] = (0.5, 0.7, 0.5, 0.5)
    temperatures: tuple[float, float, float, float] = TEMPERATURES
    sample_rate: int = 16000
    nb_samp: int = 64600
    freq_aug: bool = False


AASIST_CONFIG = AASISTConfig()
AASIST_L_CONFIG = AASISTConfig(
    filts=((1, 32), (32, 32), (32, 24), (24, 24)),
    gat_dims=(24, 32),
    pool_ratios=(0.4, 0.5, 0.7, 0.5),
)
#: A few thousand parameters, same code paths: for the every-model tests.
DEBUG_AASIST_CONFIG = AASISTConfig(
    first_conv=32, filts=((1, 4), (4, 4), (4, 8), (8, 8)), gat_dims=(8, 6)
)


class AASIST(AASISTGraph):
    """AASIST (Jung et al., 2022) on raw 16 kHz waveforms; loads the official ``.pth`` strictly.

    ``forward(wav (B, T), lengths=None) -> logits (B, 2)``, index 1 = bona fide. ``lengths``
    is accepted for the CM interface but padding is not masked: score equal-length crops
    (AASIST's eval crop is the first 64,600 samples, tile-repeated). Inputs need at least
    ~2,400 samples.
    """

    def __init__(self, cfg: AASISTConfig = AASIST_CONFIG) -> None:
        super().__init__()
        self.config = cfg
        enc_dim = cfg.filts[-1][-1]
        self.conv_time = SincConv(cfg.sinc_channels, cfg.first_conv, cfg.sample_rate)
        self.first_bn = nn.BatchNorm2d(1)
        self.selu = nn.SELU()
        self.encoder = make_encoder(cfg.filts, pool=True)
        r = cfg.pool_ratios
        self._build_graph(
            enc_dim,
            cfg.sinc_channels // 3,
            cfg.gat_dims,
            ((r[0], r[0]), (r[1], r[1]), (r[2], r[2])),
            cfg.temperatures,
        )
        self.out_layer = nn.Linear(5 * cfg.gat_dims[1], 2)

    def embed(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The hidden readout before the output layer, (B, 5 * gat_dims[1]) = (B, 160)."""
        if wav.dim() != 2:
            raise ValueError(f"AASIST expects waveforms (B, T), got shape {tuple(wav.shape)}")
        x = self.conv_time(wav.unsqueeze(1), freq_mask=self.training and self.config.freq_aug)
        x = F.max_pool2d(x.unsqueeze(1).abs(), (3, 3))
        e = self.encoder(self.selu(self.first_bn(x)))  # (B, C, F, T)
        e_s = e.abs().amax(dim=3).transpose(1, 2) + self.pos_S
        e_t = e.abs().amax(dim=2).transpose(1, 2)
        return self._graph_readout(e_s, e_t)

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Waveforms (B, T) in [-1, 1] at 16 kHz -> logits (B, 2), index 1 = bona fide."""
        return self.out_layer(self.drop(self.embed(wav, lengths)))


register_variants(
    AASIST,
    task="cm",
    tags=("aasist", "raw"),
    variants={
        "aasist": Variant(
            AASIST_CONFIG, "AASIST, sinc front-end, official config (297,866 params)"
        ),
        "aasist_l": Variant(
            AASIST_L_CONFIG, "AASIST-L, sinc front-end, official config (85,306 params)"
        ),
        "debug_aasist": Variant(DEBUG_AASIST_CONFIG, "tiny AASIST for tests", ("debug",)),
    },
)
