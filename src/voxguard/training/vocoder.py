"""Train a small neural vocoder (:mod:`voxguard.data.synth.neural_vocoders`) on bona fide speech.

Losses: multi-resolution STFT (spectral convergence + log-magnitude L1, Parallel WaveGAN's
auxiliary loss at three resolutions) plus a log-mel L1; optionally, after ``gan_start`` steps, a
multi-resolution spectrogram discriminator (UnivNet-style) with least-squares GAN and
feature-matching losses. On CPU the adversarial part costs ~2× per step, so the shipped runs
say in their card whether it was used.

Everything a run needs to resume is in ``ckpt.pt`` (models, optimisers, step, RNG); progress
goes to ``log.jsonl`` (step, losses, wall and CPU seconds) and the held-out mel-cepstral
distortion to the same log every ``eval_every`` steps.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from voxguard.data.synth.neural_vocoders import (
    SPECS,
    MelConfig,
    load_vocoder,
    log_mel,
    save_vocoder,
    vocoder_dir,
)
from voxguard.training.ddp import pick_device


@dataclass
class VocoderTrainConfig:
    """A vocoder training run (recorded in ``train_config.json``)."""

    vocoder: str = "hifigan_s"
    out: str = "runs/vocoders/hifigan_s"
    train_files: list[str] = field(default_factory=list)
    dev_files: list[str] = field(default_factory=list)
    steps: int = 3000
    batch: int = 8
    segment: int = 8192
    lr: float = 5e-4
    gan_start: int = -1  # < 0: no adversarial loss
    eval_every: int = 250
    seed: int = 0
    threads: int = 1
    device: str = "cpu"  # "cpu", "cuda", or "auto" (CUDA when present)
    max_minutes: float = 0.0  # stop (and export) after this much wall time; 0: run all steps
    init_from: str = ""  # start the generator from a saved vocoder (name or folder); "": random
    mcd: bool = True  # held-out MCD at each evaluation (needs pysptk); False: log-mel L1 only
    train_data: str = (
        "LibriSpeech (CC BY 4.0): librispeech-mini + librispeech-cohort of the shared data"
    )


# ---- losses -------------------------------------------------------------------------------

_RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))


def _mag(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    w = torch.hann_window(n_fft, device=x.device)
    return torch.stft(x, n_fft, hop, window=w, return_complex=True).abs().clamp_min(1e-7)


def stft_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Multi-resolution STFT loss: mean over resolutions of spectral convergence + log-mag L1."""
    total = y.new_zeros(())
    for n_fft, hop in _RESOLUTIONS:
        a, b = _mag(y_hat, n_fft, hop), _mag(y, n_fft, hop)
        sc = torch.linalg.norm(b - a) / torch.linalg.norm(b).clamp_min(1e-7)
        total = total + sc + F.l1_loss(torch.log(a), torch.log(b))
    return total / len(_RESOLUTIONS)


class SpecDiscriminator(nn.Module):
    """One resolution of a multi-resolution spectrogram discriminator (2-D convs on |STFT|)."""

    def __init__(self, n_fft: int, hop: int, ch: int = 16):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.convs = nn.ModuleList(
            [
                nn.Conv2d(1, ch, (3, 9), padding=(1, 4)),
                nn.Conv2d(ch, ch, (3, 9), stride=(1, 2), padding=(1, 4)),
                nn.Conv2d(ch, ch, (3, 9), stride=(1, 2), padding=(1, 4)),
                nn.Conv2d(ch, ch, (3, 3), padding=(1, 1)),
            ]
        )
        self.out = nn.Conv2d(ch, 1, (3, 3), padding=(1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = torch.log(_mag(x, self.n_fft, self.hop)).unsqueeze(1)
        feats = []
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.1)
            feats.append(h)
        return self.out(h), feats


class MultiResDiscriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.discs = nn.ModuleList(SpecDiscriminator(n, h) for n, h in _RESOLUTIONS)

    def forward(self, x: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        return [d(x) for d in self.discs]


# ---- data -----------------------------------------------------------------------------------


def load_corpus(files: list[str], sample_rate: int = 16000) -> list[np.ndarray]:
    """Decode ``files`` to 16 kHz int16 arrays (kept in memory: the corpora here are small)."""
    from voxguard.audio.io import load_audio

    out = []
    for f in files:
        wav, _ = load_audio(f, sample_rate)
        out.append((np.clip(wav, -1, 1) * 32767).astype(np.int16))
    return out


def random_batch(
    corpus: list[np.ndarray], batch: int, segment: int, rng: np.random.Generator
) -> torch.Tensor:
    """``batch`` random ``segment``-sample crops, each scaled to a random level (-30…-18 dBFS RMS)."""
    out = np.zeros((batch, segment), dtype=np.float32)
    for i in range(batch):
        x = corpus[int(rng.integers(len(corpus)))]
        start = int(rng.integers(max(len(x) - segment, 0) + 1))
        seg = x[start : start + segment].astype(np.float32) / 32767
        rms = float(np.sqrt(np.mean(seg**2))) + 1e-8
        seg = seg * (10 ** (rng.uniform(-30, -18) / 20) / rms)
        out[i, : len(seg)] = np.clip(seg, -1, 1)
    return torch.from_numpy(out)


# ---- quality ----------------------------------------------------------------------------------


def mel_cepstral_distortion(
    ref: np.ndarray,
    test: np.ndarray,
    order: int = 24,
    alpha: float = 0.42,
    frame: int = 512,
    hop: int = 160,
) -> float:
    """Mean MCD (dB) over speech frames between two time-aligned 16 kHz signals (c0 excluded).

    MCD = (10 / ln 10) · sqrt(2 · Σ_{d≥1} (c_d − ĉ_d)²), mel-cepstra by pysptk ``mcep``; frames
    whose reference energy is more than 40 dB below the loudest are skipped (silence).
    """
    import warnings

    from voxguard.data.synth._pkg_resources import ensure_pkg_resources

    ensure_pkg_resources()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pysptk

    n = min(len(ref), len(test))
    idx = np.arange(0, n - frame, hop)
    win = np.blackman(frame)
    fr = np.stack([ref[i : i + frame] for i in idx]).astype(np.float64) * win
    ft = np.stack([test[i : i + frame] for i in idx]).astype(np.float64) * win
    energy = 10 * np.log10(np.sum(fr**2, axis=1) + 1e-12)
    keep = energy > energy.max() - 40
    rng = np.random.default_rng(0)
    jitter = 1e-6 * rng.standard_normal(fr.shape)
    cr = pysptk.mcep(fr[keep] + jitter[keep], order=order, alpha=alpha, etype=1, eps=1e-8)
    ct = pysptk.mcep(ft[keep] + jitter[keep], order=order, alpha=alpha, etype=1, eps=1e-8)
    diff = cr[:, 1:] - ct[:, 1:]
    return float(np.mean(10.0 / np.log(10) * np.sqrt(2 * np.sum(diff**2, axis=1))))


@torch.inference_mode()
def evaluate(model: nn.Module, dev: list[np.ndarray], mcd: bool = True) -> dict[str, float]:
    """Held-out MCD (dB; only with ``mcd``) and log-mel L1 of copy-synthesis, on the model's device."""
    model.eval()
    device = next(model.parameters()).device
    mcds, mels = [], []
    for x in dev:
        wav = torch.from_numpy(x.astype(np.float32) / 32767)[None].to(device)
        mel = log_mel(wav)
        y = model(mel)[:, : wav.shape[1]]
        mels.append(float(F.l1_loss(log_mel(y), mel)))
        if mcd:
            mcds.append(mel_cepstral_distortion(wav[0].cpu().numpy(), y[0].cpu().numpy()))
    model.train()
    out = {"dev_mel_l1": float(np.mean(mels))}
    if mcd:
        out["dev_mcd_db"] = float(np.mean(mcds))
    return out


# ---- loop -------------------------------------------------------------------------------------


def train(cfg: VocoderTrainConfig) -> Path:
    """Train (or resume) the run in ``cfg.out``; returns the folder of the exported vocoder."""
    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=1) + "\n")
    spec = SPECS[cfg.vocoder]
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)
    torch.backends.cudnn.benchmark = device.type == "cuda"
    gen = spec.build()
    init = None
    if cfg.init_from:  # load_vocoder checks the weights against their card's sha256
        gen.load_state_dict(load_vocoder(cfg.init_from).state_dict(), strict=True)
        meta = json.loads((vocoder_dir(cfg.init_from) / "config.json").read_text())
        init = {"from": cfg.init_from, "sha256": meta["card"]["sha256"]}
    gen = gen.to(device)
    disc = MultiResDiscriminator().to(device) if cfg.gan_start >= 0 else None
    opt_g = torch.optim.AdamW(gen.parameters(), cfg.lr, betas=(0.8, 0.99))
    opt_d = torch.optim.AdamW(disc.parameters(), cfg.lr, betas=(0.8, 0.99)) if disc else None
    step, rng = 0, np.random.default_rng(cfg.seed)
    wall0, cpu0 = 0.0, 0.0
    ckpt = out / "ckpt.pt"
    if ckpt.is_file():
        state = torch.load(ckpt, map_location=device, weights_only=True)
        gen.load_state_dict(state["gen"])
        opt_g.load_state_dict(state["opt_g"])
        if disc and state.get("disc"):
            disc.load_state_dict(state["disc"])
            opt_d.load_state_dict(state["opt_d"])
        step, wall0, cpu0 = state["step"], state["wall"], state["cpu"]
        rng.bit_generator.state = state["rng"]
        print(f"resuming {cfg.vocoder} from step {step} ({ckpt})", flush=True)
    corpus, dev = load_corpus(cfg.train_files), load_corpus(cfg.dev_files)
    t_wall, t_cpu = time.time(), time.process_time()
    log = (out / "log.jsonl").open("a", encoding="utf-8")
    mel_cfg = MelConfig()
    gen.train()
    record = {"wall_s": wall0, "cpu_s": cpu0}
    stopped = "steps"
    while step < cfg.steps:
        if cfg.max_minutes and time.time() - t_wall > 60 * cfg.max_minutes:
            stopped = "time"
            break
        # cosine decay over the steps, or over the time limit when that comes first (so a
        # time-boxed run still anneals to zero)
        progress = step / cfg.steps
        if cfg.max_minutes:
            progress = max(progress, (time.time() - t_wall) / (60 * cfg.max_minutes))
        lr = cfg.lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        for g in opt_g.param_groups:
            g["lr"] = lr
        y = random_batch(corpus, cfg.batch, cfg.segment, rng).to(device, non_blocking=True)
        mel = log_mel(y, mel_cfg)
        y_hat = gen(mel)[:, : y.shape[1]]
        loss_stft = stft_loss(y_hat, y)
        loss_mel = F.l1_loss(log_mel(y_hat, mel_cfg), mel)
        loss = loss_stft + loss_mel
        record = {"step": step + 1, "lr": lr, "stft": float(loss_stft), "mel_l1": float(loss_mel)}
        use_gan = disc is not None and step >= cfg.gan_start
        if use_gan:
            d_fake = disc(y_hat.detach())
            d_real = disc(y)
            loss_d = sum(
                torch.mean((r - 1) ** 2) + torch.mean(f**2)
                for (r, _), (f, _) in zip(d_real, d_fake, strict=True)
            )
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            d_fake = disc(y_hat)
            adv = sum(torch.mean((f - 1) ** 2) for f, _ in d_fake)
            fm = sum(
                F.l1_loss(a, b.detach())
                for (_, fa), (_, fr) in zip(d_fake, d_real, strict=True)
                for a, b in zip(fa, fr, strict=True)
            )
            loss = loss + 0.1 * adv + 0.2 * fm
            record.update(adv=float(adv), fm=float(fm), disc=float(loss_d))
        opt_g.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(gen.parameters(), 10.0)
        opt_g.step()
        step += 1
        record["wall_s"] = wall0 + time.time() - t_wall
        record["cpu_s"] = cpu0 + time.process_time() - t_cpu
        if step % cfg.eval_every == 0 or step == cfg.steps:
            record.update(evaluate(gen, dev, cfg.mcd))
            torch.save(
                {
                    "gen": gen.state_dict(),
                    "opt_g": opt_g.state_dict(),
                    "disc": disc.state_dict() if disc else None,
                    "opt_d": opt_d.state_dict() if opt_d else None,
                    "step": step,
                    "wall": record["wall_s"],
                    "cpu": record["cpu_s"],
                    "rng": rng.bit_generator.state,
                },
                out / "ckpt.tmp",
            )
            os.replace(out / "ckpt.tmp", ckpt)
            print(json.dumps(record), flush=True)
        log.write(json.dumps(record) + "\n")
        log.flush()
    log.close()
    gen = gen.cpu()
    final = evaluate(gen, dev, cfg.mcd)
    n_params = sum(p.numel() for p in gen.parameters())
    card = {
        "family": spec.family,
        "params": n_params,
        "steps": step,
        "batch": cfg.batch,
        "segment": cfg.segment,
        "adversarial": cfg.gan_start >= 0,
        "gan_start": cfg.gan_start,
        "seed": cfg.seed,
        "train_wall_s": round(record["wall_s"], 1),
        "train_cpu_s": round(record["cpu_s"], 1),
        "threads": cfg.threads,
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "stopped": stopped,
        **({"initialised_from": init} if init else {}),
        "train_files": len(cfg.train_files),
        "dev_files": len(cfg.dev_files),
        "train_data": cfg.train_data,
        "dev_mcd_db": round(final["dev_mcd_db"], 3) if "dev_mcd_db" in final else None,
        "dev_mel_l1": round(final["dev_mel_l1"], 4),
        "licence": "MIT (weights trained here)",
    }
    return save_vocoder(gen, spec, out / "export", card)
