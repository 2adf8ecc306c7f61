"""Self-supervised (SSL) speech front-ends on ``transformers``: WavLM, wav2vec2 / XLS-R, HuBERT.

An :class:`SSLFrontend` turns ``(wav (B, T), lengths (B,))`` into all kept hidden states
``(B, L, T', D)`` plus frame lengths ``(B,)``. Hidden state ``l`` is the output of transformer
layer ``l`` (what ``transformers`` returns with ``output_hidden_states=True``); the last state of
an untruncated model is the encoder output (``last_hidden_state``, which for pre-LN models such as
WavLM-Large and XLS-R includes the final LayerNorm). So the states of a model truncated to ``N``
layers equal the first ``N`` states of the full model (the last one, for ``N`` below the full
depth, without that final LayerNorm). ``SSLFrontendConfig.final_layer_norm=False`` gives the raw
last-layer output of an untruncated pre-LN model too (the SpAArSIST paper's input).

The upstream comes from one of three places, all through :func:`build_upstream`:

- a preset name (``wavlm_base_plus``, ``wavlm_large``, ``xlsr_300m``, ...): the public
  architecture config, built with **random weights** (nothing is downloaded);
- a local directory written by ``save_pretrained`` of ``transformers`` (a real checkpoint);
- a hub id such as ``microsoft/wavlm-large``, resolved **only** from the local Hugging Face cache.

Truncation to the first ``num_layers`` layers happens in the config before the modules are built,
so the dropped layers cost neither parameters nor compute.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from voxguard.errors import WeightsError

# Architecture fields of the public configs (microsoft/wavlm-base(-plus), microsoft/wavlm-large,
# facebook/wav2vec2-xls-r-300m, facebook/hubert-base-ls960). Dropout / SpecAugment fields are
# kept too because fine-tuning uses them.
_BASE = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "conv_dim": (512, 512, 512, 512, 512, 512, 512),
    "conv_kernel": (10, 3, 3, 3, 3, 2, 2),
    "conv_stride": (5, 2, 2, 2, 2, 2, 2),
    "conv_bias": False,
    "feat_extract_norm": "group",
    "feat_extract_activation": "gelu",
    "do_stable_layer_norm": False,
    "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16,
    "layer_norm_eps": 1e-5,
    "hidden_dropout": 0.1,
    "attention_dropout": 0.1,
    "activation_dropout": 0.0,
    "feat_proj_dropout": 0.1,
    "final_dropout": 0.0,
    "apply_spec_augment": True,
    "mask_time_prob": 0.05,
    "mask_time_length": 10,
    "mask_feature_prob": 0.0,
}
_LARGE = {
    **_BASE,
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "feat_extract_norm": "layer",
    "do_stable_layer_norm": True,
    "mask_time_prob": 0.075,
    "layerdrop": 0.1,
}
_WAVLM = {"model_type": "wavlm", "num_buckets": 320, "max_bucket_distance": 800}

PRESETS: dict[str, dict[str, Any]] = {
    "wavlm_base": {**_BASE, **_WAVLM, "layerdrop": 0.05},
    "wavlm_base_plus": {**_BASE, **_WAVLM, "layerdrop": 0.05},
    "wavlm_large": {**_LARGE, **_WAVLM},
    "xlsr_300m": {
        **_LARGE,
        "model_type": "wav2vec2",
        "conv_bias": True,
        "codevector_dim": 768,
        "proj_codevector_dim": 768,
    },
    "hubert_base": {
        **_BASE,
        "model_type": "hubert",
        "activation_dropout": 0.1,
        "layerdrop": 0.1,
    },
    # Tiny random WavLM for tests (not a public model).
    "debug_wavlm": {
        **_BASE,
        **_WAVLM,
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "conv_dim": (32, 32, 32),
        "conv_kernel": (10, 8, 4),
        "conv_stride": (5, 4, 4),
        "num_conv_pos_embeddings": 16,
        "num_conv_pos_embedding_groups": 4,
        "num_buckets": 16,
        "max_bucket_distance": 64,
        "feat_extract_norm": "layer",
        "do_stable_layer_norm": True,
        "layerdrop": 0.0,
    },
}

FREEZE_MODES = ("none", "cnn", "all")


def require_transformers() -> Any:
    """The ``transformers`` module, or an ImportError that says how to install it."""
    try:
        import transformers
    except ImportError:
        raise ImportError(
            "SSL and Whisper front-ends need transformers: pip install 'voxguard[ssl]'"
        ) from None
    return transformers


def _model_class(model_type: str) -> type[nn.Module]:
    tf = require_transformers()
    classes = {"wavlm": tf.WavLMModel, "wav2vec2": tf.Wav2Vec2Model, "hubert": tf.HubertModel}
    if model_type not in classes:
        raise WeightsError(
            f"upstream model_type {model_type!r} is not supported; "
            f"use one of {sorted(classes)} (WavLM, wav2vec2 / XLS-R, HuBERT)"
        )
    return classes[model_type]


def _config_from_dict(values: dict[str, Any]) -> Any:
    values = dict(values)
    model_type = values.pop("model_type")
    return require_transformers().AutoConfig.for_model(model_type, **values)


def _is_local_dir(source: str) -> bool:
    return Path(source).expanduser().is_dir()


def _load_config(source: str) -> Any:
    auto_config = require_transformers().AutoConfig
    local = _is_local_dir(source)
    try:
        return auto_config.from_pretrained(
            str(Path(source).expanduser()) if local else source, local_files_only=True
        )
    except (OSError, ValueError) as exc:
        if local:
            raise WeightsError(
                f"{source}: not a transformers checkpoint directory ({exc}); it needs the "
                "config.json and model.safetensors written by `model.save_pretrained(dir)`"
            ) from None
        raise WeightsError(
            f"{source}: not a local directory and not in the local Hugging Face cache "
            "(voxguard never downloads at run time); fetch it first with "
            f"`huggingface-cli download {source}` or pass the path of a downloaded checkpoint"
        ) from None


def build_upstream(
    preset: str | None = None,
    upstream_path: str | None = None,
    num_layers: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> nn.Module:
    """Build a ``transformers`` SSL model, truncated to its first ``num_layers`` layers.

    Args:
        preset: a name in :data:`PRESETS`; used (random weights) when ``upstream_path`` is None.
        upstream_path: a local checkpoint directory or a cached hub id; its weights are loaded.
        num_layers: keep only the first ``num_layers`` transformer layers (None keeps all).
        overrides: extra config fields (e.g. dropout) applied before the model is built.

    Raises:
        WeightsError: unknown preset, unreadable checkpoint, hub id not cached, too many layers.
    """
    if upstream_path is not None:
        config = _load_config(upstream_path)
    elif preset in PRESETS:
        config = _config_from_dict(PRESETS[preset])
    else:
        raise WeightsError(
            f"unknown SSL preset {preset!r}; use one of {sorted(PRESETS)} or pass upstream_path "
            "(a checkpoint directory or a cached hub id)"
        )
    total = config.num_hidden_layers
    if num_layers is not None:
        if not 1 <= num_layers <= total:
            raise WeightsError(
                f"num_layers={num_layers} is outside 1..{total} for upstream "
                f"{upstream_path or preset!r}; pick at most {total} layers"
            )
        config.num_hidden_layers = num_layers
    for key, value in (overrides or {}).items():
        setattr(config, key, value)
    config.layerdrop = 0.0  # every kept layer must run: the merge consumes all hidden states
    cls = _model_class(config.model_type)
    if upstream_path is None:
        return cls(config)
    source = (
        str(Path(upstream_path).expanduser()) if _is_local_dir(upstream_path) else upstream_path
    )
    try:
        model, info = cls.from_pretrained(
            source, config=config, local_files_only=True, output_loading_info=True
        )
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{upstream_path}: cannot load the checkpoint weights ({exc})") from None
    missing = [k for k in info.get("missing_keys", []) if "masked_spec_embed" not in k]
    if missing:
        raise WeightsError(
            f"{upstream_path}: checkpoint lacks weights for {missing[:5]} "
            f"({len(missing)} missing); it does not match a {config.model_type} model"
        )
    return model


def enable_checkpointing(model: nn.Module) -> None:
    """Recompute each transformer layer in backward (activation / gradient checkpointing)."""
    kwargs = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


@dataclass(frozen=True)
class SSLFrontendConfig:
    """An SSL front-end: which upstream, how many layers, what is trained."""

    preset: str = "wavlm_base_plus"
    upstream_path: str | None = None
    num_layers: int | None = None
    freeze: str = "none"  # "none" | "cnn" (freeze the conv feature encoder) | "all"
    gradient_checkpointing: bool = False
    include_embedding: bool = False  # prepend the transformer input (s3prl's hidden state 0)
    # Pre-LN upstreams (WavLM-Large, XLS-R) apply a final LayerNorm after their last layer.
    # True: the last state is ``last_hidden_state`` (after it, what fairseq's
    # ``features_only`` output and SSL-AASIST use); False: the raw last-layer output (the
    # SpAArSIST paper's "layer 24 before the final LayerNorm"); the module is then dropped.
    final_layer_norm: bool = True


class SSLFrontend(nn.Module):
    """``(wav (B, T), lengths) -> (hidden states (B, L, T', D), frame lengths (B,))``.

    Padded batches: with a layer-norm conv encoder (WavLM-Large, XLS-R) the batch runs at once
    with an attention mask; a group-norm conv encoder (WavLM-Base(+), HuBERT-Base) normalises
    each channel over the whole time axis, so each item of a padded batch is run on its own.
    Either way a padded item gives the same output as the item alone.
    """

    def __init__(self, cfg: SSLFrontendConfig, overrides: dict[str, Any] | None = None) -> None:
        super().__init__()
        if cfg.freeze not in FREEZE_MODES:
            raise ValueError(f"freeze={cfg.freeze!r}; use one of {FREEZE_MODES}")
        self.config = cfg
        self.upstream = build_upstream(cfg.preset, cfg.upstream_path, cfg.num_layers, overrides)
        self.upstream.train()  # from_pretrained returns eval mode; follow the parent's mode
        ucfg = self.upstream.config
        self.truncated = cfg.num_layers is not None and cfg.num_layers < _full_depth(cfg)
        if ucfg.do_stable_layer_norm and (self.truncated or not cfg.final_layer_norm):
            # Pre-LN models apply a final LayerNorm after their last layer only: a truncated model
            # (or final_layer_norm=False) returns raw layer outputs, so that module is dead weight.
            self.upstream.encoder.layer_norm = nn.Identity()
        self.hidden_size: int = ucfg.hidden_size
        self.num_layers: int = ucfg.num_hidden_layers + int(cfg.include_embedding)
        self._group_norm = ucfg.feat_extract_norm == "group"
        if cfg.gradient_checkpointing:
            enable_checkpointing(self.upstream)
        self.set_freeze(cfg.freeze)

    def set_freeze(self, mode: str) -> None:
        """Freeze nothing (``none``), the conv feature encoder (``cnn``) or everything (``all``)."""
        if mode not in FREEZE_MODES:
            raise ValueError(f"freeze={mode!r}; use one of {FREEZE_MODES}")
        self.upstream.requires_grad_(mode != "all")
        if mode == "cnn":
            self.upstream.feature_extractor.requires_grad_(False)
        self.freeze = mode

    def frame_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Number of output frames for inputs of ``lengths`` samples."""
        return self.upstream._get_feat_extract_output_lengths(lengths).long()

    def _run(self, wav: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        out = self.upstream(wav, attention_mask=mask, output_hidden_states=True)
        states = list(out.hidden_states if self.config.include_embedding else out.hidden_states[1:])
        # the encoder output: equal to the raw last layer except for untruncated pre-LN models
        states[-1] = out.last_hidden_state
        return torch.stack(states, dim=1)

    def forward(
        self, wav: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden states ``(B, L, T', D)`` of the kept layers and frame lengths ``(B,)``."""
        if wav.dim() != 2:
            raise ValueError(f"expected a waveform batch (B, T), got shape {tuple(wav.shape)}")
        batch, total = wav.shape
        if lengths is None:
            lengths = torch.full((batch,), total, dtype=torch.long, device=wav.device)
        lengths = lengths.to(wav.device).long()
        frames = self.frame_lengths(lengths)
        grad = torch.is_grad_enabled() and self.freeze != "all"
        with torch.set_grad_enabled(grad):
            if bool((lengths == total).all()):
                return self._run(wav, None), frames
            if not self._group_norm:
                mask = (torch.arange(total, device=wav.device)[None] < lengths[:, None]).long()
                return self._run(wav, mask), frames
            max_frames = int(self.frame_lengths(torch.tensor(total)).item())
            items = []
            for i in range(batch):
                states = self._run(wav[i : i + 1, : int(lengths[i])], None)
                items.append(nn.functional.pad(states, (0, 0, 0, max_frames - states.shape[2])))
            return torch.cat(items), frames


def _full_depth(cfg: SSLFrontendConfig) -> int:
    if cfg.upstream_path is not None:
        return int(_load_config(cfg.upstream_path).num_hidden_layers)
    return int(PRESETS[cfg.preset]["num_hidden_layers"])
