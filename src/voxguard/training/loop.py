"""The CM training loop: any registered CM model, one config, resumable, DDP-ready.

Per epoch: train (class-weighted cross-entropy or a class-balanced sampler, RawBoost / codec
augmentation, AMP on CUDA, optional frozen parameter prefixes for the first epochs; parameters
the model freezes itself, such as an SSL conv encoder with ``freeze: cnn``, stay frozen), evaluate
the dev set (loss, EER), save the weights with their metrics and the resume state, append a line
to ``metrics.jsonl``. At the end: average the ``average_best`` best checkpoints into
``RUN/model/`` (a voxguard weights folder, loadable with ``load_pretrained``) and score the eval
set into ``RUN/scores_eval.tsv`` (``voxguard score`` compatible; higher = bona fide).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from voxguard.data.manifest import Utterance
from voxguard.models import create_model
from voxguard.training import checkpoint as ckpt
from voxguard.training import ddp
from voxguard.training.config import TrainConfig
from voxguard.training.data import CMDataset, balanced_sampler, class_weight_tensor, load_split


@dataclass
class TrainResult:
    """What a run produced."""

    run_dir: Path
    history: list[dict[str, Any]] = field(default_factory=list)
    model_dir: Path | None = None
    score_file: Path | None = None
    eval_metrics: dict[str, float] = field(default_factory=dict)


def train(cfg: TrainConfig, progress: bool = True) -> TrainResult:
    """Train ``cfg.model`` as configured; resumes from ``cfg.out_dir/last.pt`` when present."""
    ctx = ddp.init(cfg.device)
    try:
        return _train(cfg, ctx, progress)
    finally:
        ddp.cleanup(ctx)


@dataclass
class _Session:
    """What every epoch of one run shares: the model, its data and its optimisation state.

    ``model`` is ``bare`` wrapped in DDP when distributed (the same module otherwise).
    ``fixed`` names the parameters the model itself freezes (``requires_grad`` False when it
    is built, e.g. the conv feature encoder of an SSL front-end with ``freeze: cnn``): they
    stay frozen in every epoch, whatever the ``freeze`` / ``freeze_epochs`` schedule says.
    """

    cfg: TrainConfig
    ctx: ddp.DistContext
    bare: nn.Module
    model: nn.Module
    train_ds: CMDataset
    sampler: Any
    loader: DataLoader
    steps: int
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    scaler: torch.amp.GradScaler
    use_amp: bool
    criterion: nn.Module
    fixed: frozenset[str]
    history: list[dict[str, Any]] = field(default_factory=list)
    start: int = 1  # first epoch to run (after a resume: the one after the last saved)

    def frozen(self, epoch: int) -> set[str]:
        """Parameters not trained in ``epoch``: the model's own plus the scheduled prefixes."""
        scheduled = epoch <= self.cfg.freeze_epochs
        return set(self.fixed) | (_frozen_names(self.bare, self.cfg.freeze) if scheduled else set())


def _train(cfg: TrainConfig, ctx: ddp.DistContext, progress: bool) -> TrainResult:
    run_dir = Path(cfg.out_dir)
    splits = {"train": load_split(cfg.data, "train")}
    for name in ("dev", "eval"):
        if getattr(cfg.data, name):
            splits[name] = load_split(cfg.data, name)
    if ctx.is_main:
        ckpt.write_run_info(run_dir, cfg, {k: v[0] for k, v in splits.items()})
    s = _setup(cfg, ctx, splits["train"])
    if cfg.resume:
        _resume(s, run_dir)
    dev_loader = _eval_loader(cfg, splits.get("dev"))
    for epoch in range(s.start, cfg.epochs + 1):
        t0 = time.perf_counter()
        _seed_epoch(cfg, ctx, epoch, s.train_ds, s.sampler)
        frozen = s.frozen(epoch)
        if not ctx.distributed:
            for name, p in s.bare.named_parameters():
                p.requires_grad_(name not in frozen)
        loss = _train_epoch(s, epoch, frozen, progress)
        row: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": ddp.mean_across(loss, ctx),
            "lr": s.optimizer.param_groups[0]["lr"],
            "frozen_params": len(frozen),
        }
        if ctx.is_main:
            if dev_loader is not None:
                _, scores, targets, dev_loss = score(s.bare, dev_loader, ctx.device, s.criterion)
                row.update(dev_loss=dev_loss, dev_eer=_eer(scores, targets))
            row["time_s"] = round(time.perf_counter() - t0, 2)
            _save_epoch(s, run_dir, epoch, row)
        ddp.barrier(ctx)
    result = TrainResult(run_dir, s.history)
    if ctx.is_main:
        _finish(cfg, s.bare, splits, ctx, s.criterion, result)
    ddp.barrier(ctx)
    return result


def _setup(
    cfg: TrainConfig, ctx: ddp.DistContext, train_split: tuple[list[Utterance], Path | None]
) -> _Session:
    """Build the model, the training data and the optimisation state of a fresh run."""
    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    bare = create_model(cfg.model, **cfg.model_overrides)
    fixed = frozenset(n for n, p in bare.named_parameters() if not p.requires_grad)
    if cfg.init_from:
        bare.load_state_dict(_init_state(cfg.init_from))
    bare = bare.to(ctx.device)
    model = ddp.wrap(bare, ctx)
    train_ds = CMDataset(
        *train_split,
        crop=cfg.data.crop,
        train=True,
        augment=cfg.augment,
        seed=cfg.seed,
        sample_rate=cfg.data.sample_rate,
    )
    sampler = _sampler(cfg, train_ds, ctx)
    loader = DataLoader(
        train_ds,
        batch_size=cfg.batch_size,
        sampler=sampler,
        num_workers=cfg.num_workers,
        drop_last=len(train_ds) // max(ctx.world_size, 1) > cfg.batch_size,
        pin_memory=ctx.device.type == "cuda",
    )
    steps = (
        len(loader)
        if cfg.max_steps_per_epoch is None
        else min(len(loader), cfg.max_steps_per_epoch)
    )
    optimizer = _optimizer(cfg, bare)
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(cfg.epochs * steps, 1), eta_min=cfg.optim.min_lr
        )
        if cfg.optim.scheduler == "cosine"
        else None
    )
    use_amp = cfg.amp and ctx.device.type == "cuda"
    weight = class_weight_tensor(cfg.class_weights)
    return _Session(
        cfg=cfg,
        ctx=ctx,
        bare=bare,
        model=model,
        train_ds=train_ds,
        sampler=sampler,
        loader=loader,
        steps=steps,
        optimizer=optimizer,
        scheduler=scheduler,
        scaler=torch.amp.GradScaler("cuda", enabled=use_amp),
        use_amp=use_amp,
        criterion=nn.CrossEntropyLoss(weight=None if weight is None else weight.to(ctx.device)),
        fixed=fixed,
    )


def _resume(s: _Session, run_dir: Path) -> None:
    """Restore the state saved after the last finished epoch, if there is one."""
    state = ckpt.load_resume(run_dir)
    if state is None:
        return
    s.bare.load_state_dict(state["model"])
    s.optimizer.load_state_dict(state["optimizer"])
    if s.scheduler is not None and state.get("scheduler"):
        s.scheduler.load_state_dict(state["scheduler"])
    if state.get("scaler"):
        s.scaler.load_state_dict(state["scaler"])
    s.history = [json.loads(h) for h in state["history"]]
    s.start = int(state["epoch"]) + 1
    print(f"resuming from epoch {s.start - 1} ({run_dir / ckpt.RESUME_FILE})", flush=True)


def _save_epoch(s: _Session, run_dir: Path, epoch: int, row: dict[str, Any]) -> None:
    """Log ``row``, save the epoch's weights (pruned to the best kept) and the resume state."""
    s.history.append(row)
    ckpt.save_epoch(run_dir, epoch, s.bare, row)
    ckpt.prune_checkpoints(run_dir, max(s.cfg.keep_checkpoints, s.cfg.average_best))
    with (run_dir / "metrics.jsonl").open("a") as fh:
        fh.write(json.dumps(row) + "\n")
    ckpt.save_resume(
        run_dir,
        {
            "epoch": epoch,
            "model": s.bare.state_dict(),
            "optimizer": s.optimizer.state_dict(),
            "scheduler": s.scheduler.state_dict() if s.scheduler is not None else {},
            "scaler": s.scaler.state_dict(),
            "history": [json.dumps(h) for h in s.history],
        },
    )


def _init_state(source: str) -> dict[str, torch.Tensor]:
    """Weights of ``init_from``: a weights folder (``model.safetensors``) or a ``.safetensors`` file."""
    from safetensors.torch import load_file

    from voxguard.training.config import ConfigError

    path = Path(source)
    path = path / "model.safetensors" if path.is_dir() else path
    if not path.is_file():
        raise ConfigError(
            f"init_from: {path} not found (give a run's model/ folder or a .safetensors file)"
        )
    return load_file(str(path))


def _sampler(cfg: TrainConfig, ds: CMDataset, ctx: ddp.DistContext) -> Any:
    if cfg.sampler == "balanced":
        sampler = balanced_sampler(ds, cfg.seed + ctx.rank)
        sampler.num_samples = max(len(ds) // ctx.world_size, 1)
        return sampler
    if ctx.distributed:
        return DistributedSampler(ds, ctx.world_size, ctx.rank, shuffle=True, seed=cfg.seed)
    return RandomSampler(ds, generator=torch.Generator().manual_seed(cfg.seed))


def _seed_epoch(
    cfg: TrainConfig, ctx: ddp.DistContext, epoch: int, ds: CMDataset, sampler: Any
) -> None:
    """Re-seed every random stream from (seed, epoch, rank): a resumed run equals an unbroken one."""
    torch.manual_seed(cfg.seed * 100003 + epoch * 1009 + ctx.rank)
    ds.set_epoch(epoch)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    if getattr(sampler, "generator", None) is not None:
        sampler.generator.manual_seed(cfg.seed * 100003 + epoch * 1009 + ctx.rank)


def _optimizer(cfg: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    o = cfg.optim
    cls = torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam
    return cls(model.parameters(), lr=o.lr, weight_decay=o.weight_decay, betas=tuple(o.betas))


def _frozen_names(model: nn.Module, prefixes: list[str]) -> set[str]:
    return {n for n, _ in model.named_parameters() if any(n.startswith(p) for p in prefixes)}


def _train_epoch(s: _Session, epoch: int, frozen: set[str], progress: bool) -> float:
    """One pass over at most ``s.steps`` batches; the mean training loss."""
    from tqdm import tqdm

    s.model.train()
    total, count = 0.0, 0
    bar = tqdm(
        total=s.steps,
        desc=f"epoch {epoch}/{s.cfg.epochs}",
        disable=not (progress and s.ctx.is_main),
        leave=False,
    )
    params = dict(s.bare.named_parameters())
    device = s.ctx.device
    for step, (wav, target) in enumerate(s.loader):
        if step >= s.steps:
            break
        wav, target = wav.to(device, non_blocking=True), target.to(device, non_blocking=True)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=s.use_amp):
            logits = s.model(wav)
        loss = s.criterion(logits.float(), target)
        s.optimizer.zero_grad(set_to_none=True)
        s.scaler.scale(loss).backward()
        for name in frozen:  # DDP keeps every parameter trainable; frozen ones get no update
            params[name].grad = None
        if s.cfg.optim.grad_clip:
            s.scaler.unscale_(s.optimizer)
            nn.utils.clip_grad_norm_(s.bare.parameters(), s.cfg.optim.grad_clip)
        s.scaler.step(s.optimizer)
        s.scaler.update()
        if s.scheduler is not None:
            s.scheduler.step()
        if not math.isfinite(loss.item()):
            raise FloatingPointError(
                f"epoch {epoch} step {step}: loss is {loss.item()}; lower optim.lr"
            )
        total += loss.item() * len(target)
        count += len(target)
        bar.set_postfix(loss=f"{total / count:.4f}")
        bar.update()
    bar.close()
    return total / max(count, 1)


def _eval_loader(
    cfg: TrainConfig, split: tuple[list[Utterance], Path | None] | None
) -> DataLoader | None:
    if split is None:
        return None
    ds = CMDataset(*split, crop=cfg.data.crop, train=False, sample_rate=cfg.data.sample_rate)
    return DataLoader(
        ds, batch_size=cfg.eval_batch_size, shuffle=False, num_workers=cfg.num_workers
    )


@torch.no_grad()
def score(
    model: nn.Module, loader: DataLoader, device: torch.device, criterion: nn.Module | None = None
) -> tuple[list[str], np.ndarray, np.ndarray, float | None]:
    """CM scores (``logit[1] - logit[0]``) of a non-shuffled eval loader, with targets and mean loss."""
    model.eval()
    scores, targets, loss_sum = [], [], 0.0
    for wav, target in loader:
        logits = model(wav.to(device)).float()
        if criterion is not None:
            loss_sum += criterion(logits, target.to(device)).item() * len(target)
        scores.append((logits[:, 1] - logits[:, 0]).cpu().numpy())
        targets.append(target.numpy())
    ids = [r.utt for r in loader.dataset.records]
    t = np.concatenate(targets)
    return ids, np.concatenate(scores), t, (loss_sum / len(t) if criterion is not None else None)


def _eer(scores: np.ndarray, targets: np.ndarray) -> float | None:
    from voxguard.metrics import eer

    if targets.min() == targets.max():
        return None
    return float(eer(scores[targets == 1], scores[targets == 0])[0])


def _finish(
    cfg: TrainConfig,
    bare: nn.Module,
    splits: dict,
    ctx: ddp.DistContext,
    criterion: nn.Module,
    result: TrainResult,
) -> None:
    from voxguard.data.scorefiles import write_cm_scores
    from voxguard.models import save_pretrained

    best = [p for p, _ in ckpt.rank_checkpoints(result.run_dir)[: cfg.average_best]]
    if best:
        bare.load_state_dict(ckpt.average_state_dicts(best))
    card = {
        "trained_with": "voxguard train",
        "averaged_checkpoints": [p.name for p in best],
        "crop": cfg.data.crop,
        "sample_rate": cfg.data.sample_rate,
        "score": "logit[1] - logit[0], higher = bona fide",
        "train_data": cfg.data.train,
    }
    result.model_dir = save_pretrained(bare, result.run_dir / "model", card=card)
    loader = _eval_loader(cfg, splits.get("eval"))
    if loader is None:
        return
    ids, scores, targets, _ = score(bare, loader, ctx.device)
    result.score_file = result.run_dir / "scores_eval.tsv"
    write_cm_scores(result.score_file, ids, scores, fmt=cfg.score_format)
    eer = _eer(scores, targets)
    if eer is not None:
        from voxguard.metrics import min_dcf

        result.eval_metrics = {
            "eval_eer": eer,
            "eval_min_dcf": float(min_dcf(scores[targets == 1], scores[targets == 0])[0]),
            "n_bonafide": int((targets == 1).sum()),
            "n_spoof": int((targets == 0).sum()),
        }
    (result.run_dir / "results.json").write_text(
        json.dumps(
            {
                "eval": result.eval_metrics,
                "averaged": [p.name for p in best],
                "history": result.history,
            },
            indent=1,
        )
        + "\n"
    )
