"""The Whisper audio encoder in plain PyTorch (no ``transformers`` needed to run it).

Same modules, parameter names and numerics as ``transformers``' ``WhisperEncoder`` (so its state
dicts, and those converted from CTranslate2, load with ``strict=True``): two GELU convolutions
(the second with stride 2), fixed sinusoidal positions, pre-LayerNorm transformer layers whose
key projection has no bias, and a final LayerNorm. Building it costs milliseconds instead of the
seconds ``import transformers`` takes, which is what the inference path pays on every start.
Parity with ``transformers`` and CTranslate2 is pinned in ``tests/frontends/test_whisper.py``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class WhisperEncoderConfig:
    """Architecture of a Whisper encoder (defaults: tiny.en)."""

    d_model: int = 384
    encoder_layers: int = 4
    encoder_attention_heads: int = 6
    encoder_ffn_dim: int = 1536
    num_mel_bins: int = 80
    max_source_positions: int = 1500
    dropout: float = 0.0
    attention_dropout: float = 0.0
    activation_dropout: float = 0.0
    layer_norm_eps: float = 1e-5

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> WhisperEncoderConfig:
        """The config from a dict of ``WhisperConfig``-style fields (others are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def sinusoids(length: int, channels: int, max_timescale: float = 10000.0) -> torch.Tensor:
    """Whisper's fixed positional embedding ``(length, channels)``: [sin | cos] halves."""
    increment = math.log(max_timescale) / (channels // 2 - 1)
    inv = torch.exp(-increment * torch.arange(channels // 2, dtype=torch.float32))
    scaled = torch.arange(length, dtype=torch.float32)[:, None] * inv[None]
    return torch.cat([scaled.sin(), scaled.cos()], dim=1)


class _NoInit:
    """Skips the random initialisation: the weights are loaded right after (no time spent
    drawing ~8 M random numbers that would be overwritten at once)."""

    def reset_parameters(self) -> None:
        pass


class _LinearNoInit(_NoInit, nn.Linear):
    pass


class _Conv1dNoInit(_NoInit, nn.Conv1d):
    pass


class WhisperAttention(nn.Module):
    """Multi-head self-attention; ``bias`` is an additive mask ``(B, 1, 1, T)`` or ``None``."""

    def __init__(
        self, dim: int, heads: int, dropout: float = 0.0, linear: type[nn.Linear] = nn.Linear
    ) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"d_model={dim} is not divisible by {heads} heads")
        self.heads, self.head_dim, self.dropout = heads, dim // heads, dropout
        self.k_proj = linear(dim, dim, bias=False)
        self.v_proj = linear(dim, dim)
        self.q_proj = linear(dim, dim)
        self.out_proj = linear(dim, dim)

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        b, t, d = x.shape

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, self.head_dim).transpose(1, 2)

        out = F.scaled_dot_product_attention(
            split(self.q_proj(x)),
            split(self.k_proj(x)),
            split(self.v_proj(x)),
            attn_mask=bias,
            dropout_p=self.dropout if self.training else 0.0,
            scale=self.head_dim**-0.5,
        )
        return self.out_proj(out.transpose(1, 2).reshape(b, t, d))


class WhisperEncoderLayer(nn.Module):
    """Pre-LayerNorm transformer layer: attention then a GELU feed-forward, both residual."""

    def __init__(self, cfg: WhisperEncoderConfig, linear: type[nn.Linear] = nn.Linear) -> None:
        super().__init__()
        dim = cfg.d_model
        self.self_attn = WhisperAttention(
            dim, cfg.encoder_attention_heads, cfg.attention_dropout, linear
        )
        self.self_attn_layer_norm = nn.LayerNorm(dim, eps=cfg.layer_norm_eps)
        self.fc1 = linear(dim, cfg.encoder_ffn_dim)
        self.fc2 = linear(cfg.encoder_ffn_dim, dim)
        self.final_layer_norm = nn.LayerNorm(dim, eps=cfg.layer_norm_eps)
        self.dropout, self.activation_dropout = cfg.dropout, cfg.activation_dropout

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        h = self.self_attn(self.self_attn_layer_norm(x), bias)
        x = x + F.dropout(h, self.dropout, self.training)
        h = F.gelu(self.fc1(self.final_layer_norm(x)))
        h = F.dropout(h, self.activation_dropout, self.training)
        return x + F.dropout(self.fc2(h), self.dropout, self.training)


class WhisperEncoder(nn.Module):
    """Convolution stem, positions, layers and final LayerNorm of the Whisper encoder.

    The modules are applied by :meth:`voxguard.frontends.whisper.WhisperFrontend.encode_mel`,
    which handles lengths, masking and truncation; this class only holds them.
    """

    def __init__(
        self, cfg: WhisperEncoderConfig = WhisperEncoderConfig(), init_weights: bool = True
    ) -> None:
        super().__init__()
        self.config = cfg
        dim = cfg.d_model
        self.dropout = cfg.dropout
        conv = nn.Conv1d if init_weights else _Conv1dNoInit
        linear = nn.Linear if init_weights else _LinearNoInit
        self.conv1 = conv(cfg.num_mel_bins, dim, kernel_size=3, padding=1)
        self.conv2 = conv(dim, dim, kernel_size=3, stride=2, padding=1)
        if init_weights:
            self.embed_positions = nn.Embedding(cfg.max_source_positions, dim)
            with torch.no_grad():
                self.embed_positions.weight.copy_(sinusoids(cfg.max_source_positions, dim))
        else:  # the loaded state holds the positions: neither draw nor compute them twice
            empty = torch.empty(cfg.max_source_positions, dim)
            self.embed_positions = nn.Embedding(cfg.max_source_positions, dim, _weight=empty)
        self.embed_positions.requires_grad_(False)
        self.layers = nn.ModuleList(
            WhisperEncoderLayer(cfg, linear) for _ in range(cfg.encoder_layers)
        )
        self.layer_norm: nn.Module = nn.LayerNorm(dim, eps=cfg.layer_norm_eps)
        self.gradient_checkpointing = False
        if init_weights:  # False when a state dict is loaded right after
            self._init_weights()

    def _init_weights(self, std: float = 0.02) -> None:
        """Random weights as ``transformers`` initialises Whisper (normal(0, 0.02), zero bias)."""
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Conv1d)):
                nn.init.normal_(module.weight, 0.0, std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def run_layers(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> list[torch.Tensor]:
        """The output of every layer for inputs ``x`` ``(B, T', D)`` (after the positions)."""
        states = []
        for layer in self.layers:
            if self.gradient_checkpointing and self.training and torch.is_grad_enabled():
                from torch.utils.checkpoint import checkpoint

                x = checkpoint(layer, x, bias, use_reentrant=False)
            else:
                x = layer(x, bias)
            states.append(x)
        return states
