"""Small neural vocoders of three families, trained here, for matched vocoded spoofs.

Real deepfakes are made by neural vocoders; none can be downloaded here, so voxguard trains
small ones on its own bona fide speech (``recipes/vocoders``) and uses them to copy-synthesise
bona fide utterances (log-mel → vocoder → waveform), as Wang & Yamagishi (ICASSP 2023) did for
CM training. A vocoded copy keeps the speaker, words and channel of its original, so the only
cue a countermeasure can learn from the pair is the vocoder itself.

Families (each a faithful miniature of the published generator, not a copy of its code):

- ``hifigan``: HiFi-GAN (Kong et al., 2020) generator — transposed-convolution upsampling,
  each stage followed by a multi-receptive-field fusion (MRF) of dilated residual blocks.
- ``melgan``: MelGAN (Kumar et al., 2019) generator — transposed-convolution upsampling, each
  stage followed by one residual stack of dilations 1, 3, 9.
- ``vocos``: Vocos (Siuzdak, 2023) / iSTFTNet-style — a ConvNeXt backbone at frame rate that
  predicts STFT magnitude and phase, turned into a waveform by an inverse STFT (no upsampling
  convolutions at all, so its artefacts differ from the other two).
- ``nsf``: a source-filter model (Wang et al., NSF): a sine excitation at the F0 given with
  the mel (harmonic + noise source), shaped by a dilated-convolution filter conditioned on the
  upsampled mel.

All take a log-mel ``(B, n_mels, frames)`` from :func:`log_mel` and return ``(B, samples)``.
Training uses multi-resolution STFT and mel losses (see :mod:`voxguard.training.vocoder`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

from voxguard.errors import VoxguardError

SAMPLE_RATE = 16000


class VocoderError(VoxguardError, ValueError):
    """A vocoder cannot be built or loaded as asked."""


@dataclass(frozen=True)
class MelConfig:
    """The log-mel the vocoders are conditioned on (HiFi-GAN's 22 kHz recipe scaled to 16 kHz)."""

    sample_rate: int = SAMPLE_RATE
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 80
    f_min: float = 0.0
    f_max: float = 8000.0


def _mel_filters(cfg: MelConfig) -> torch.Tensor:
    """Slaney-style triangular mel filters (n_mels, n_fft//2+1), area-normalised."""

    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel_to_hz(m):
        return 700.0 * (10 ** (np.asarray(m) / 2595.0) - 1.0)

    freqs = np.linspace(0, cfg.sample_rate / 2, cfg.n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(cfg.f_min), hz_to_mel(cfg.f_max), cfg.n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None] - lo) / np.maximum(mid - lo, 1e-9)
    down = (hi - freqs[None]) / np.maximum(hi - mid, 1e-9)
    fb = np.maximum(0.0, np.minimum(up, down)) * (2.0 / (hi - lo))
    return torch.from_numpy(fb.astype(np.float32))


@lru_cache(maxsize=4)
def _cached_filters(cfg: MelConfig) -> np.ndarray:
    # cached as numpy: a tensor made under inference_mode could not be used by autograd later
    return _mel_filters(cfg).numpy()


def log_mel(wav: torch.Tensor, cfg: MelConfig = MelConfig()) -> torch.Tensor:
    """Natural-log mel magnitude ``(B, n_mels, ceil(T/hop))`` of ``wav`` ``(B, T)`` (centred STFT)."""
    window = torch.hann_window(cfg.n_fft, device=wav.device)
    spec = torch.stft(wav, cfg.n_fft, cfg.hop, window=window, center=True, return_complex=True)
    mel = torch.matmul(torch.from_numpy(_cached_filters(cfg)).to(wav.device), spec.abs())
    return torch.log(mel.clamp_min(1e-5))


# ---------------------------------------------------------------------------------------------
# Generators


def _wn_conv(c_in: int, c_out: int, k: int, dilation: int = 1) -> nn.Module:
    return weight_norm(
        nn.Conv1d(c_in, c_out, k, dilation=dilation, padding=dilation * (k - 1) // 2)
    )


def _wn_up(c_in: int, c_out: int, rate: int) -> nn.Module:
    return weight_norm(
        nn.ConvTranspose1d(
            c_in,
            c_out,
            2 * rate,
            stride=rate,
            padding=rate // 2 + rate % 2,
            output_padding=rate % 2,
        )
    )


class _ResBlock(nn.Module):
    """HiFi-GAN ResBlock1: pairs of (dilated conv, conv) with LeakyReLU, residual each pair."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]):
        super().__init__()
        self.convs1 = nn.ModuleList(_wn_conv(channels, channels, kernel, d) for d in dilations)
        self.convs2 = nn.ModuleList(_wn_conv(channels, channels, kernel) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2, strict=True):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, 0.1)), 0.1))
        return x


class HiFiGANGenerator(nn.Module):
    """HiFi-GAN generator: upsampling stages, each followed by an MRF (mean of resblocks)."""

    def __init__(
        self,
        n_mels: int = 80,
        channels: int = 128,
        rates: tuple[int, ...] = (8, 8, 4),
        kernels: tuple[int, ...] = (3, 7, 11),
        dilations: tuple[int, ...] = (1, 3, 5),
    ):
        super().__init__()
        self.pre = _wn_conv(n_mels, channels, 7)
        self.ups, self.mrfs = nn.ModuleList(), nn.ModuleList()
        c = channels
        for r in rates:
            self.ups.append(_wn_up(c, c // 2, r))
            c //= 2
            self.mrfs.append(nn.ModuleList(_ResBlock(c, k, dilations) for k in kernels))
        self.post = _wn_conv(c, 1, 7)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.pre(mel)
        for up, mrf in zip(self.ups, self.mrfs, strict=True):
            x = up(F.leaky_relu(x, 0.1))
            x = sum(block(x) for block in mrf) / len(mrf)
        return torch.tanh(self.post(F.leaky_relu(x, 0.01))).squeeze(1)


class _ResStack(nn.Module):
    """MelGAN residual stack: dilations 1, 3, 9, each LeakyReLU → dilated conv → LeakyReLU → 1×1."""

    def __init__(self, channels: int):
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.LeakyReLU(0.2),
                _wn_conv(channels, channels, 3, d),
                nn.LeakyReLU(0.2),
                _wn_conv(channels, channels, 1),
            )
            for d in (1, 3, 9)
        )
        self.skips = nn.ModuleList(_wn_conv(channels, channels, 1) for _ in range(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block, skip in zip(self.blocks, self.skips, strict=True):
            x = skip(x) + block(x)
        return x


class MelGANGenerator(nn.Module):
    """MelGAN generator: 7-tap input conv, upsampling stages each with a residual stack, tanh."""

    def __init__(self, n_mels: int = 80, channels: int = 256, rates: tuple[int, ...] = (8, 8, 4)):
        super().__init__()
        layers: list[nn.Module] = [_wn_conv(n_mels, channels, 7)]
        c = channels
        for r in rates:
            layers += [nn.LeakyReLU(0.2), _wn_up(c, c // 2, r), _ResStack(c // 2)]
            c //= 2
        layers += [nn.LeakyReLU(0.2), _wn_conv(c, 1, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.net(mel).squeeze(1)


class _ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int, mult: int = 3):
        super().__init__()
        self.dw = nn.Conv1d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.pw1, self.pw2 = nn.Linear(dim, mult * dim), nn.Linear(mult * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.dw(x).transpose(1, 2))
        y = self.gamma * self.pw2(F.gelu(self.pw1(y)))
        return x + y.transpose(1, 2)


class VocosGenerator(nn.Module):
    """Vocos-style generator: ConvNeXt at frame rate → magnitude and phase → inverse STFT."""

    def __init__(
        self, n_mels: int = 80, dim: int = 192, blocks: int = 6, n_fft: int = 1024, hop: int = 256
    ):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.pre = nn.Conv1d(n_mels, dim, 7, padding=3)
        self.norm_in = nn.LayerNorm(dim)
        self.blocks = nn.ModuleList(_ConvNeXtBlock(dim) for _ in range(blocks))
        self.norm_out = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_fft + 2)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.norm_in(self.pre(mel).transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        h = self.head(self.norm_out(x.transpose(1, 2))).transpose(1, 2)
        log_mag, phase = h.chunk(2, dim=1)
        mag = torch.exp(log_mag).clamp_max(1e2)
        spec = torch.polar(mag, phase)
        window = torch.hann_window(self.n_fft, device=mel.device)
        frames = mel.shape[-1]
        return torch.istft(
            spec, self.n_fft, self.hop, window=window, center=True, length=frames * self.hop
        )


class NSFGenerator(nn.Module):
    """Source-filter (NSF-style) generator: sine + noise excitation at F0, shaped by a
    mel-conditioned stack of dilated convolutions. F0 is estimated from the log-mel itself
    (a small frame-rate network) so the vocoder takes the same input as the others."""

    def __init__(
        self,
        n_mels: int = 80,
        channels: int = 64,
        layers: int = 10,
        hop: int = 256,
        sample_rate: int = SAMPLE_RATE,
        harmonics: int = 4,
    ):
        super().__init__()
        self.hop, self.sample_rate, self.harmonics = hop, sample_rate, harmonics
        self.f0_net = nn.Sequential(
            nn.Conv1d(n_mels, 128, 5, padding=2), nn.GELU(), nn.Conv1d(128, 2, 5, padding=2)
        )
        self.cond = nn.Conv1d(n_mels, channels, 1)
        self.inp = nn.Conv1d(harmonics + 1, channels, 1)
        self.dil = nn.ModuleList(
            nn.Conv1d(channels, 2 * channels, 3, dilation=2 ** (i % 5), padding=2 ** (i % 5))
            for i in range(layers)
        )
        self.res = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in range(layers))
        self.out = nn.Conv1d(channels, 1, 1)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        b, _, frames = mel.shape
        n = frames * self.hop
        f0v = self.f0_net(mel)
        f0 = 60.0 + 340.0 * torch.sigmoid(f0v[:, :1])  # 60-400 Hz
        voiced = torch.sigmoid(f0v[:, 1:])
        f0 = F.interpolate(f0, size=n, mode="linear", align_corners=False)
        voiced = F.interpolate(voiced, size=n, mode="linear", align_corners=False)
        phase = 2 * math.pi * torch.cumsum(f0 / self.sample_rate, dim=-1)
        k = torch.arange(1, self.harmonics + 1, device=mel.device, dtype=mel.dtype).view(1, -1, 1)
        sines = 0.1 * torch.sin(phase * k) * voiced
        noise = 0.03 * torch.randn(b, 1, n, device=mel.device, dtype=mel.dtype)
        x = self.inp(torch.cat([sines, noise], dim=1))
        c = F.interpolate(self.cond(mel), size=n, mode="linear", align_corners=False)
        for dil, res in zip(self.dil, self.res, strict=True):
            a, g = (dil(x) + c.repeat(1, 2, 1)).chunk(2, dim=1)
            x = x + res(torch.tanh(a) * torch.sigmoid(g))
        return torch.tanh(self.out(x)).squeeze(1)


FAMILIES = {
    "hifigan": HiFiGANGenerator,
    "melgan": MelGANGenerator,
    "vocos": VocosGenerator,
    "nsf": NSFGenerator,
}


@dataclass(frozen=True)
class VocoderSpec:
    """One vocoder: its family and the generator's keyword arguments."""

    name: str
    family: str
    kwargs: tuple[tuple[str, object], ...] = ()

    def build(self) -> nn.Module:
        if self.family not in FAMILIES:
            raise VocoderError(
                f"unknown vocoder family {self.family!r}; known: {', '.join(FAMILIES)}"
            )
        return FAMILIES[self.family](**dict(self.kwargs))


# The vocoders voxguard trains and ships (sizes chosen to train in minutes on one CPU core).
SPECS = {
    s.name: s
    for s in [
        VocoderSpec(
            "hifigan_s", "hifigan", (("channels", 128), ("kernels", (3, 7)), ("dilations", (1, 3)))
        ),
        VocoderSpec("melgan_s", "melgan", (("channels", 128),)),
        VocoderSpec("vocos_s", "vocos", (("dim", 128), ("blocks", 4))),
        VocoderSpec("nsf_s", "nsf", (("channels", 48), ("layers", 10))),
    ]
}


def bundled_dir() -> Path:
    """Folder holding the shipped vocoders (``<name>/model.safetensors`` + ``config.json``)."""
    return Path(__file__).resolve().parents[2] / "pretrained" / "vocoders"


def save_vocoder(model: nn.Module, spec: VocoderSpec, directory: str | Path, card: dict) -> Path:
    """Write ``model.safetensors`` and ``config.json`` (spec, mel config, card with sha256)."""
    from safetensors.torch import save_file

    from voxguard.models._hub import sha256_of

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "model.safetensors")
    )
    meta = {
        "name": spec.name,
        "family": spec.family,
        "kwargs": {k: v for k, v in spec.kwargs},
        "mel": asdict(MelConfig()),
        "card": {
            **card,
            "sha256": sha256_of(out / "model.safetensors"),
            "files": {"model.safetensors": sha256_of(out / "model.safetensors")},
        },
    }
    (out / "config.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return out


def vocoder_dir(name_or_dir: str) -> Path:
    """The folder of a saved vocoder (``name_or_dir`` itself) or of a shipped one by name."""
    path = Path(name_or_dir)
    if not (path / "config.json").is_file():
        path = bundled_dir() / name_or_dir
    if not (path / "config.json").is_file():
        known = ", ".join(shipped_vocoders()) or "none"
        raise VocoderError(f"no vocoder {name_or_dir!r}; shipped: {known}")
    return path


def spec_of(meta: dict) -> VocoderSpec:
    """The :class:`VocoderSpec` a saved vocoder's ``config.json`` describes."""
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["kwargs"].items()}
    return VocoderSpec(meta["name"], meta["family"], tuple(kwargs.items()))


@lru_cache(maxsize=8)
def load_vocoder(name_or_dir: str) -> nn.Module:
    """A shipped vocoder by name (``hifigan_s``…) or a saved folder, sha256-checked, in eval mode."""
    from safetensors.torch import load_file

    from voxguard.models._hub import sha256_of

    path = vocoder_dir(name_or_dir)
    meta = json.loads((path / "config.json").read_text(encoding="utf-8"))
    weights = path / "model.safetensors"
    if sha256_of(weights) != meta["card"]["sha256"]:
        raise VocoderError(f"{weights}: sha256 does not match its card; re-train or re-install")
    model = spec_of(meta).build()
    model.load_state_dict(load_file(str(weights)), strict=True)
    return model.eval()


def shipped_vocoders() -> list[str]:
    """Names of the vocoders shipped in the package."""
    return sorted(p.name for p in bundled_dir().glob("*") if (p / "config.json").is_file())


@torch.inference_mode()
def vocode(
    wav: np.ndarray,
    name: str,
    chunk_s: float = 30.0,
    mel_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> np.ndarray:
    """Copy-synthesis: log-mel of ``wav`` (16 kHz mono) → vocoder ``name`` → waveform, same length.

    ``mel_transform`` changes each chunk's log-mel ``(1, n_mels, frames)`` before the vocoder
    (the voice-conversion attacks of :mod:`voxguard.data.synth.conversion`).
    """
    model = load_vocoder(name)
    x = torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32))
    hop = MelConfig().hop
    step = int(chunk_s * SAMPLE_RATE) // hop * hop
    pieces = []
    for start in range(0, max(len(x), 1), step):
        seg = x[start : start + step]
        mel = log_mel(seg[None])
        if mel_transform is not None:
            mel = mel_transform(mel)
        pieces.append(model(mel)[0, : len(seg)])
    y = torch.cat(pieces) if pieces else torch.zeros(0)
    return y.numpy().astype(np.float32)
