"""Train a waveform-input CM (e.g. ``lcnn_spec``, ``lcnn_lfcc``) on the engine's audio, views made on the fly.

python recipes/cm/train_waveform.py --engine data/voxguard-engine-l --out runs/cm/lcnn_spec_s1 \
    [--model lcnn_spec] [--steps 3000] [--batch 24] [--lr 1e-3] [--seed 1] [--eval-every 200] [--mixup 0.5] [--sam 0.05] \
    [--extra-train data/voxguard-engine-vc] [--colour 0.5] [--denoise 0.3] [--floor 0.5 [--floor-on spoof]] [--freq-mask 1.0] \
    [--speaker-adv 0.1 [--speaker-adv-on voices]] [--speaker-power 0.5 | --attack-power 0.5] [--mixstyle 0.5] \
    [--weight-decay 0.1]

Run it with ``MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=4294967295``: glibc
otherwise maps and unmaps every large conv buffer, and half the CPU goes to page faults (3.6 vs
7.5-8.9 s per batch of 24 4-s windows measured on this machine).

The classic CMs need no pretrained model, so there is nothing to cache: the engine's training
audio is decoded once into memory (int16) and every step draws a class-balanced batch, each item
through one of the four views of ``features.py`` drawn at random (4-s crop; 1-4 s crop tiled +
RawBoost; 4-s crop through a channel; 0.8-1.6 s crop tiled + channel), partial spoofs cropped
around their spoofed segment, then a random ``--crop-s`` crop of that 4-s view (partial
spoofs are left out of training: that crop could miss their segment). Dev, eval and the validation sets are scored on their first 4-s
window every ``--eval-every`` steps with the figures of ``train.py`` (``metrics``); checkpoints
are selected on dev EER + same-corpus validation EER (``train.SELECTION_VALIDATION``; never on eval), the best ``--average``
averaged. ``log.jsonl``, ``curves.png``, ``ckpt.pt`` (resume), ``best.pt``, ``summary.json``;
``OUT/STOP`` ends the run on a plateau.

Losses: a model whose head is ``OneClassHead`` (``lcnn_wide_oc``) trains with the one-class
softmax (``voxguard.losses.ocsoftmax``), every other one with a cross-entropy. ``--mixup ALPHA``
mixes each batch's waveforms with a shuffled copy, ``lam ~ Beta(alpha, alpha)``, and the
cross-entropies of both labels by ``lam`` (Zhang et al., "mixup", ICLR 2018; cross-entropy
only: a one-class loss has no soft label). ``--colour P`` passes each training view, bona fide and
spoof alike, through a random recording colour (``voxguard.audio.augment.random_colour``: a
low-pass or a spectral tilt) with probability ``P``, so that a dull or bright recording cannot
stand for "spoof" or "bona fide" (unseen bona fide speakers with dull recordings were being
rejected by the wide-band branch). ``--denoise P`` does the same with a random spectral-gating
noise reducer (``voxguard.audio.augment.noise_reduction``), after the colour: a cleaned-up
recording moved the phase branch towards "spoof" by about 2.4 log-odds (twentieth session).
``--floor P`` adds, after those and with probability ``P``, a white noise floor
at a random absolute level of -75 to -50 dBFS (``voxguard.audio.augment.noise_floor``), both classes:
an inference dither lifted the clean-recording test-other speakers and the engine's spoofs with
them (thirty-eighth session), so the networks read the floor; trained with every level, they cannot.
``--floor-on spoof`` gives the floor to spoofs only (``apply_floor``): bona fide recordings keep
their own floors, and a floor stops being evidence of a live speaker without teaching that a
floor-free file is bona fide (the both-class floor cost the 32-ms branch its SpeechT5 detection,
fortieth session); the default ``both`` is the earlier arms' draw, unchanged.
``--freq-mask P`` zeroes one random band (0-1 kHz wide) of each training crop's spectrum with
probability ``P``, both classes (FreqAugment, ``voxguard.audio.augment.band_mask``). ``--sam RHO`` takes each step with the gradient at
the worst point of a ``RHO`` ball around the weights (sharpness-aware minimisation,
``voxguard.training.sam``; with any of the losses; two forward-backward passes per step, 1.6x the CPU here);
``--sam-adaptive`` makes that ball elliptic, scaled per weight by ``|w| + 0.01`` (ASAM; its radius ``--sam 0.5``).
``--speaker-power P`` draws each class's files with weight ``n ** -P``, ``n`` that class's files of the
same (source corpus, speaker): the 251 one-file cohort speakers then weigh more against the 18 mini
speakers with 40 files each, in the bona fide and (by source speaker) the spoof half alike, so the
corpus mix of the two classes stays the same (``speaker_draw``). ``--attack-power P`` draws the spoof
files with weight ``n ** -P``, ``n`` the training files of their attack (``attack_draw``): at 0.5 each
attack's share grows as ``sqrt(n)``, so the five vocoder copies (57 % of engine-l's training spoofs)
give way to the TTS voices; the bona fide draw is unchanged. ``--mixstyle P`` mixes, with probability
``P`` per step, each item's per-channel feature statistics after the LCNN body's first two max-pools
with those of another item of its own class (``voxguard.training.mixstyle``: Zhou et al.'s MixStyle,
``lam ~ Beta(0.1, 0.1)``; both SAM passes see the same draw; its random numbers come from a
generator of its own per step, so the batches are those of the same seed without it; nothing changes
at inference). ``--speaker-adv LAMBDA`` adds a speaker adversary (``voxguard.training.adversary``): a linear
classifier of the bona fide training speakers on the CM's pooled embedding, behind a gradient
reversal whose coefficient follows DANN's ramp up to ``LAMBDA``, on the bona fide half of each
batch (a TTS spoof does not carry its source speaker's voice), or with ``--speaker-adv-on voices``
on every item that carries its speaker's voice: the bona fide ones and the vocoder copies (attacks
whose id starts with ``voc-``), so that the invariance is asked of both classes, as in the
speaker-invariant multi-task CMs; training-time only, the CM's
weights and architecture are those of a run without it. Its cross-entropy is logged as
``adv_loss`` (rising while the CM's embedding forgets the speakers) and its weights are kept
next to ``ckpt.pt`` for resume (``adversary.pt``). ``--weight-decay WD`` sets AdamW's decoupled
decay of the conv / linear weights (``decay_groups``); every shipped branch trained at 1e-4, which
over the cosine schedule shrinks the weights by about 1e-4 in all, i.e. no decay in practice.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from features import WINDOW, engine_rows, validation_rows, view  # noqa: E402
from train import checkpoint, eval_groups, metrics, plot, resume, start_run  # noqa: E402

from voxguard.audio.augment import band_mask, noise_floor, noise_reduction, random_colour  # noqa: E402
from voxguard.audio.crop import tile_to  # noqa: E402
from voxguard.audio.io import load_audio  # noqa: E402
from voxguard.losses.ocsoftmax import oc_softmax_loss  # noqa: E402
from voxguard.models import create_model  # noqa: E402
from voxguard.training.adversary import SpeakerAdversary, dann_ramp  # noqa: E402
from voxguard.training.mixstyle import MixStyle, lcnn_mixstyle_modules  # noqa: E402
from voxguard.training.sam import SAM, frozen_batchnorm  # noqa: E402


def decode(path: str) -> np.ndarray:
    wav, _ = load_audio(path, 16000)
    return np.clip(np.round(wav * 32767), -32768, 32767).astype(np.int16)


@torch.inference_mode()
def score(model, windows: np.ndarray, batch: int = 32) -> np.ndarray:
    model.eval()
    out = [model(torch.from_numpy(windows[i : i + batch].astype(np.float32) / 32767)) for i in range(0, len(windows), batch)]
    model.train()
    logits = torch.cat(out) if out else torch.zeros(0, 2)
    return (logits[:, 1] - logits[:, 0]).numpy()


def batch_loss(model, x: torch.Tensor, y: torch.Tensor, one_class: bool,
               mix: tuple[float, torch.Tensor] | None, smoothing: float = 0.0) -> torch.Tensor:
    """The step's loss: one-class softmax, or cross-entropy (mixed with ``x[perm]`` by ``lam``)
    against the targets ``(1 - smoothing)`` one-hot ``+ smoothing / 2`` (0: hard labels)."""
    if one_class:  # logits are (-cos, cos): the loss takes the cosine
        return oc_softmax_loss(model(x)[:, 1], y)
    ce = partial(F.cross_entropy, label_smoothing=smoothing)
    if mix is not None:
        lam, perm = mix
        logits = model(lam * x + (1 - lam) * x[perm])
        return lam * ce(logits, y) + (1 - lam) * ce(logits, y[perm])
    return ce(model(x), y)


VOCODER_COPY = "voc-"  # the engine's vocoder copies of a speaker's utterance: the speaker's voice, resynthesised


def step_loss(model, x: torch.Tensor, y: torch.Tensor, one_class: bool, mix: tuple[float, torch.Tensor] | None,
              adv_term: tuple[SpeakerAdversary, torch.Tensor, torch.Tensor, float] | None,
              smoothing: float = 0.0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The CM loss of :func:`batch_loss` and, with ``adv_term = (adversary, speakers, keep, lam)``,
    the speaker adversary's reversed cross-entropy on that same forward pass (else ``None``)."""
    cm = batch_loss(model, x, y, one_class, mix, smoothing)
    if adv_term is None:
        return cm, None
    adversary, speakers, keep, lam = adv_term
    return cm, adversary.loss(speakers, keep, lam)


def power_draw(keys: list, power: float, option: str) -> np.ndarray | None:
    """Draw probabilities of files whose groups are ``keys``: each file weighs ``n ** -power``, ``n``
    the number of files of its group, so that a group's share grows as ``n ** (1 - power)``.
    ``None`` for ``power`` 0: the draw by file, and the random stream of the runs before these options."""
    if power == 0:
        return None
    if not 0 < power <= 1:
        raise SystemExit(f"{option} {power}: use a value in [0, 1]")
    count = Counter(keys)
    w = np.array([count[k] ** -power for k in keys])
    return w / w.sum()


def speaker_draw(rows: list[dict], idx: np.ndarray, power: float) -> np.ndarray | None:
    """:func:`power_draw` of the files ``idx`` (one class) by (source corpus, speaker), for ``--speaker-power``."""
    return power_draw([(rows[i].get("source_corpus", ""), rows[i]["speaker"]) for i in idx], power, "--speaker-power")


def attack_draw(rows: list[dict], idx: np.ndarray, power: float) -> np.ndarray | None:
    """:func:`power_draw` of the spoof files ``idx`` by attack, for ``--attack-power``."""
    return power_draw([rows[i]["attack"] for i in idx], power, "--attack-power")


def init_weights(path: Path) -> dict[str, torch.Tensor]:
    """Model weights from a bundle folder, a ``.safetensors`` file, or a ``.pt`` of this recipe."""
    if path.is_dir():
        path = path / "model.safetensors"
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, weights_only=True)["model"]


def extra_train_rows(builds: list[Path], rows: list[dict]) -> list[dict]:
    """The train-split spoofs of each supplementary build (their bona fide copies duplicate the
    main build's), checked to come from the main build's train speakers only."""
    train_speakers = {r["speaker"] for r in rows if r.get("set") == "engine" and r["split"] == "train"}
    extra = []
    for build in builds:
        if not (build / "manifest.jsonl").is_file():
            raise SystemExit(f"--extra-train {build}: no manifest.jsonl there; build it with `voxguard data synth`")
        found = [{**r, "utt": f"{build.name}/{r['utt']}"} for r in engine_rows(build)
                 if r["split"] == "train" and r["label"] == "spoof" and Path(r["path"]).is_file()]
        foreign = {r["speaker"] for r in found} - train_speakers
        if foreign:
            raise SystemExit(f"--extra-train {build}: speakers {sorted(foreign)[:10]} are not train speakers of "
                             "the main build; build it with the main build's --seed and sources")
        if not found:
            raise SystemExit(f"--extra-train {build}: no train spoofs there; build it first")
        extra += found
    return extra


def hold_out(rows: list[dict], builds: list[Path]) -> tuple[list[dict], dict]:
    """``rows`` without the training rows (main build and supplements, both classes) of any speaker
    that a ``--hold-out`` build holds, so that build can score speakers the model never heard."""
    held: set[str] = set()
    for build in builds:
        if not (build / "manifest.jsonl").is_file():
            raise SystemExit(f"--hold-out {build}: no manifest.jsonl there; build it first "
                             "(recipes/cm/build_cohort_dev.py)")
        held |= {r["speaker"] for r in engine_rows(build)}
    keep, dropped = [], []
    for r in rows:
        (dropped if r["split"] == "train" and r.get("speaker") in held else keep).append(r)
    if builds and not dropped:
        raise SystemExit(f"--hold-out: none of the {len(held)} speakers there trains here; wrong build?")
    return keep, {"builds": [str(b) for b in builds], "speakers": len(held),
                  "train_rows_dropped": {lab: sum(r["label"] == lab for r in dropped) for lab in ("bonafide", "spoof")}}


CONTROL_WEIGHT_DECAY = 1e-4  # every shipped branch's AdamW decay: wd * sum(lr) ~ 1e-4 over a schedule, off in practice


def apply_floor(x: np.ndarray, is_spoof: np.ndarray, p: float, on: str, rng: np.random.Generator) -> np.ndarray:
    """Each view of ``x`` with a random noise floor (``noise_floor``) with probability ``p``, if its
    class is one ``on`` names (``both`` or ``spoof``). With ``on="both"`` the generator is read in
    the order of the earlier both-class draw (a uniform, then the floor, view by view); a view of
    a class not named reads nothing from it."""
    if on not in ("both", "spoof"):
        raise ValueError(f"floor on {on!r}: use 'both' or 'spoof'")
    return np.stack([noise_floor(v, rng) if (on == "both" or s) and rng.random() < p else v
                     for v, s in zip(x, is_spoof, strict=True)])


def decay_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """AdamW parameter groups: ``weight_decay`` on the conv / linear weights (>= 2-D tensors).

    Decision (forty-first session): biases and norm gains / shifts (1-D) keep the control's
    decay whatever ``--weight-decay`` is, as timm's and ConvNeXt's training recipes exempt them
    (Loshchilov & Hutter's AdamW, "Decoupled weight decay regularization", ICLR 2019, decays every
    parameter; shrinking a norm's gain or a bias only moves the operating point, not the filters).
    At the control's value this is the one group every earlier run has, so it steps exactly as
    before and its ``ckpt.pt`` still resumes.
    """
    if weight_decay == CONTROL_WEIGHT_DECAY:
        return [{"params": list(model.parameters())}]
    matrices = [p for p in model.parameters() if p.ndim >= 2]
    vectors = [p for p in model.parameters() if p.ndim < 2]
    return [{"params": matrices, "weight_decay": weight_decay},
            {"params": vectors, "weight_decay": CONTROL_WEIGHT_DECAY}]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", default="data/voxguard-engine-l")
    ap.add_argument("--extra-train", action="append", default=[], metavar="BUILD",
                    help="also train on the spoofs of this build's train split (e.g. the voice-conversion "
                    "supplement; built with the main build's seed and sources, so the same train speakers); "
                    "dev, eval and selection stay the main build's")
    ap.add_argument("--hold-out", action="append", default=[], metavar="BUILD",
                    help="leave every training row of this build's speakers out (e.g. data/voxguard-cohort-dev "
                    "from recipes/cm/build_cohort_dev.py), so it scores unheard speakers")
    ap.add_argument("--shared", default="../shared/data")
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", default="lcnn_spec")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--crop-s", type=float, default=2.0,
                    help="train on a random crop of this many seconds of each 4-s view (the model pools "
                    "over time, so it scores 4-s windows at inference; halves the CPU per step)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--average", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mixup", type=float, default=0.0,
                    help="mixup alpha on the waveforms (0 = off; cross-entropy models only)")
    ap.add_argument("--sam", type=float, default=0.0,
                    help="SAM neighbourhood radius rho (0 = off; 0.05 is the paper's default): two forward-backward passes per step")
    ap.add_argument("--sam-adaptive", action="store_true",
                    help="adaptive SAM (ASAM): the ball scaled per weight by |w| + 0.01 (weights, not biases); "
                    "its reference radius is --sam 0.5")
    ap.add_argument("--label-smoothing", type=float, default=0.0, metavar="EPS",
                    help="cross-entropy against (1 - EPS) one-hot + EPS / 2 (0 = hard labels; cross-entropy models only)")
    ap.add_argument("--colour", type=float, default=0.0, metavar="P",
                    help="probability of a random recording colour (low-pass or tilt) on each training view")
    ap.add_argument("--denoise", type=float, default=0.0, metavar="P",
                    help="probability of a random spectral-gating noise reducer on each training view")
    ap.add_argument("--floor", type=float, default=0.0, metavar="P",
                    help="add a white noise floor at a random -75..-50 dBFS to each training view, both classes "
                         "(spoofs only with --floor-on spoof), with probability P (noise_floor)")
    ap.add_argument("--floor-on", choices=("both", "spoof"), default="both",
                    help="which training views may take the --floor: both classes (default) or spoofs only")
    ap.add_argument("--weight-decay", type=float, default=CONTROL_WEIGHT_DECAY, metavar="WD",
                    help="AdamW's decoupled weight decay for the conv / linear weights (biases and norm "
                         f"parameters keep {CONTROL_WEIGHT_DECAY:g}); the default is every shipped recipe's")
    ap.add_argument("--freq-mask", type=float, default=0.0, metavar="P",
                    help="zero one random 0-1 kHz band of each training crop with probability P (both classes)")
    ap.add_argument("--speaker-adv", type=float, default=0.0, metavar="LAMBDA",
                    help="speaker-adversarial training: gradient reversal up to LAMBDA (DANN ramp) against a "
                    "classifier of the bona fide training speakers on the pooled embedding (0 = off)")
    ap.add_argument("--speaker-adv-on", choices=("bonafide", "voices"), default="bonafide",
                    help="items the speaker adversary sees: the bona fide half of each batch, or every item "
                    "in its speaker's voice (bona fide + vocoder copies)")
    ap.add_argument("--speaker-power", type=float, default=0.0, metavar="P",
                    help="draw each class's files with weight n^-P, n = that class's files of the same (source "
                         "corpus, speaker): 0 (default) draws by file, 1 gives every speaker the same share")
    ap.add_argument("--attack-power", type=float, default=0.0, metavar="P",
                    help="draw each spoof file with weight n^-P, n its attack's training files (0: by file)")
    ap.add_argument("--mixstyle", type=float, default=0.0, metavar="P",
                    help="MixStyle within each class after the LCNN body's first two max-pools, with probability P per step")
    ap.add_argument("--init", default=None,
                    help="start from these weights instead of a random init: a bundle folder, its "
                    "model.safetensors, or a best.pt / ckpt.pt of this recipe (e.g. to finish a schedule a "
                    "run stopped for time left; the optimiser state starts afresh)")
    ap.add_argument("--init-step", type=int, default=0,
                    help="with --init: the step the weights were taken at; the cosine schedule continues "
                    "from there after a 100-step re-warm-up (the fresh AdamW moments need it)")
    args = ap.parse_args()
    if not 0 <= args.floor <= 1:
        raise SystemExit(f"--floor {args.floor}: use a probability in [0, 1]")
    if not (math.isfinite(args.weight_decay) and args.weight_decay >= 0):
        raise SystemExit(f"--weight-decay {args.weight_decay}: use a finite value >= 0 (e.g. 0.1)")
    if args.sam_adaptive and not args.sam > 0:
        raise SystemExit("--sam-adaptive needs a radius: --sam 0.5 (the ASAM reference's)")
    if not 0 <= args.label_smoothing < 1:
        raise SystemExit(f"--label-smoothing must be in [0, 1), got {args.label_smoothing}")
    out = start_run(args)
    rows = engine_rows(Path(args.engine))
    rows = [r for r in rows if Path(r["path"]).is_file()]
    rows += validation_rows(Path(args.shared), rows)
    rows += extra_train_rows([Path(e) for e in args.extra_train], rows)
    rows, held_out = hold_out(rows, [Path(b) for b in args.hold_out])
    train_rows = [i for i, r in enumerate(rows) if r["split"] == "train"]
    assert all(rows[i]["set"] == "engine" for i in train_rows), "validation rows in training"
    audio: dict[int, np.ndarray] = {}
    for i in tqdm(train_rows, desc="decode train audio", unit="file"):
        audio[i] = decode(rows[i]["path"])
    groups = eval_groups(rows)
    windows = {}
    for k, idx in groups.items():
        windows[k] = np.stack([tile_to(decode(rows[i]["path"]), WINDOW) for i in tqdm(idx, desc=f"decode {k}", unit="file")]) \
            if len(idx) else np.zeros((0, WINDOW), np.int16)
    train_b = np.array([i for i in train_rows if rows[i]["label"] == "bonafide"])
    # partial spoofs stay out: a 2-s crop of a 4-s view could miss the spoofed segment (false label)
    train_s = np.array([i for i in train_rows if rows[i]["label"] == "spoof" and not rows[i]["attack"].startswith("partial")])
    # a class's files by speaker (--speaker-power): both classes alike, by their source speaker
    draw_b, draw_s = speaker_draw(rows, train_b, args.speaker_power), speaker_draw(rows, train_s, args.speaker_power)
    draw = ("by file within each class" if draw_b is None else
            f"within each class, a file of a (source corpus, speaker) with n files weighs n^-{args.speaker_power:g}")
    if args.attack_power:  # the spoof half by attack (the bona fide half has one "attack")
        if args.speaker_power > 0:
            raise SystemExit("--attack-power and --speaker-power both reweight the spoof draw: use one of them")
        draw_s = attack_draw(rows, train_s, args.attack_power)
        draw = f"bona fide by file; a spoof file of an attack with n training files weighs n^-{args.attack_power:g}"
    model = create_model(args.model)
    one_class = getattr(model, "head", "linear") == "ocsoftmax"
    if one_class and args.mixup > 0:
        raise SystemExit(f"--mixup needs a cross-entropy model; {args.model} trains with the one-class softmax")
    if one_class and args.label_smoothing > 0:
        raise SystemExit(f"--label-smoothing needs a cross-entropy model; {args.model} trains with the one-class softmax")
    if args.speaker_adv > 0 and (one_class or args.mixup > 0):
        raise SystemExit("--speaker-adv needs a cross-entropy model without --mixup (a mixed batch has no one speaker)")
    mixstyle = None
    if args.mixstyle > 0:
        try:
            mixstyle = MixStyle(lcnn_mixstyle_modules(model), args.mixstyle)
        except ValueError as e:
            raise SystemExit(f"--mixstyle: {e}") from None
    params = list(model.parameters())
    groups_opt: list[dict] = decay_groups(model, args.weight_decay)
    adversary = speaker_of = None
    if args.speaker_adv > 0:
        speakers = sorted({rows[i]["speaker"] for i in train_b})
        speaker_of = {s: k for k, s in enumerate(speakers)}
        if args.speaker_adv_on == "voices":  # a copy's speaker must be a class, or it would be labelled wrongly
            copies = {rows[i]["speaker"] for i in train_s if rows[i]["attack"].startswith(VOCODER_COPY)}
            if copies - set(speaker_of):
                raise SystemExit(f"--speaker-adv-on voices: vocoder copies of speakers {sorted(copies - set(speaker_of))[:5]} "
                                 "with no bona fide training utterance")
        adversary = SpeakerAdversary(model, len(speakers), torch.zeros(2, int(args.crop_s * 16000)))
        groups_opt.append({"params": list(adversary.parameters())})
        if (out / "adversary.pt").is_file():
            adversary.load_state_dict(torch.load(out / "adversary.pt", weights_only=True))
    opt = torch.optim.AdamW(groups_opt, args.lr, weight_decay=CONTROL_WEIGHT_DECAY)
    sam = (SAM.adaptive(model, args.sam) if args.sam_adaptive else SAM(params, args.sam)) if args.sam > 0 else None
    rng = np.random.default_rng(args.seed)
    step, wall0, cpu0, history = resume(out, model, opt, rng)
    t0, c0 = time.time(), time.process_time()
    log = (out / "log.jsonl").open("a", encoding="utf-8")
    start = args.init_step if args.init else 0  # the schedule's (re-)warm-up starts here
    if args.init and step == 0:
        model.load_state_dict(init_weights(Path(args.init)))
        step = args.init_step
        # the starting weights are the first candidate: later steps must beat them to be selected
        res = metrics({k: score(model, w) for k, w in windows.items() if len(w)}, rows, groups)
        res.update(step=step, wall_s=0.0, cpu_s=0.0, init=args.init)
        log.write(json.dumps(res) + "\n")
        history.append((res["selection"], step, {k: v.detach().clone() for k, v in model.state_dict().items()}))
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()}), flush=True)
    model.train()
    half = args.batch // 2
    while step < args.steps and not (out / "STOP").exists():
        lr = args.lr * min(1.0, (step + 1 - start) / 100) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = np.concatenate([rng.choice(train_b, half, p=draw_b), rng.choice(train_s, half, p=draw_s)])
        d0 = time.process_time()
        x = np.stack([view(audio[i].astype(np.float32) / 32767, int(rng.integers(0, 4)), rng, False,
                           rows[i].get("segment")) for i in idx])
        if args.colour > 0:
            x = np.stack([random_colour(v, rng) if rng.random() < args.colour else v for v in x])
        if args.denoise > 0:
            x = np.stack([noise_reduction(v, rng) if rng.random() < args.denoise else v for v in x])
        if args.floor > 0:
            x = apply_floor(x, np.arange(len(x)) >= half, args.floor, args.floor_on, rng)  # bona fide first
        n = min(WINDOW, int(args.crop_s * 16000))
        starts = rng.integers(0, WINDOW - n + 1, size=len(x))
        x = np.stack([v[s0 : s0 + n] for v, s0 in zip(x, starts, strict=True)])
        if args.freq_mask > 0:
            x = np.stack([band_mask(v, rng) if rng.random() < args.freq_mask else v for v in x])
        data_cpu = time.process_time() - d0
        y = torch.from_numpy(np.r_[np.ones(half), np.zeros(half)].astype(np.int64))
        xt = torch.from_numpy(x)
        mix = None
        if args.mixup > 0:  # drawn once per step: SAM's second pass sees the same mixed batch
            lam = float(rng.beta(args.mixup, args.mixup))
            mix = (lam, torch.from_numpy(rng.permutation(len(x))))
        adv_term = None
        if adversary is not None:  # the speakers of the items in their own voice; the others are masked out
            spk = torch.tensor([speaker_of.get(rows[i]["speaker"], 0) for i in idx])
            keep = y == 1
            if args.speaker_adv_on == "voices":
                keep = keep | torch.tensor([rows[i]["attack"].startswith(VOCODER_COPY) for i in idx])
            adv_term = (adversary, spk, keep, dann_ramp(step / args.steps, args.speaker_adv))
        if mixstyle is not None:  # its own generator per step: the data draw's stream is untouched, resume exact
            mixstyle.redraw(y.numpy(), np.random.default_rng([args.seed, step, 7]))
        opt.zero_grad()
        loss, adv = step_loss(model, xt, y, one_class, mix, adv_term, args.label_smoothing)
        (loss if adv is None else loss + adv).backward()
        if sam is not None:  # the gradient at the worst point of the rho ball, then back
            sam.perturb()
            opt.zero_grad()
            with frozen_batchnorm(model):
                cm2, adv2 = step_loss(model, xt, y, one_class, mix, adv_term, args.label_smoothing)
                (cm2 if adv2 is None else cm2 + adv2).backward()
            sam.restore()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        step += 1
        rec = {"step": step, "loss": float(loss.detach()), "lr": lr, "data_cpu_s": round(data_cpu, 3),
               "wall_s": wall0 + time.time() - t0, "cpu_s": cpu0 + time.process_time() - c0}
        if adv is not None:
            rec.update(adv_loss=float(adv.detach()), adv_lam=adv_term[3])
        log.write(json.dumps(rec) + "\n")
        if step % 20 == 0:
            log.flush()
        if step % args.eval_every == 0 or step == args.steps:
            res = metrics({k: score(model, w) for k, w in windows.items() if len(w)}, rows, groups)
            res.update(step=step, wall_s=rec["wall_s"], cpu_s=rec["cpu_s"])
            log.write(json.dumps(res) + "\n")
            log.flush()
            snap = {k: v.detach().clone() for k, v in model.state_dict().items()}
            history.append((res["selection"], step, snap))
            history = sorted(history, key=lambda h: h[0])[: args.average]
            if adversary is not None:  # first: a resume from ckpt.pt then finds the matching adversary
                torch.save(adversary.state_dict(), out / "adversary.tmp")
                (out / "adversary.tmp").replace(out / "adversary.pt")
            checkpoint(out, model, opt, step, rec, history, rng)
            print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()}), flush=True)
    log.close()
    if adversary is not None:
        adversary.remove()
    if mixstyle is not None:
        mixstyle.remove()
    # BatchNorm running statistics are averaged like the weights (affine-free BN: only buffers)
    avg = {k: (sum(h[2][k].float() for h in history) / len(history)).to(history[0][2][k].dtype) for k in history[0][2]}
    model.load_state_dict(avg)
    final = metrics({k: score(model, w) for k, w in windows.items() if len(w)}, rows, groups)
    torch.save({"model": model.state_dict(), "model_name": args.model, "averaged_steps": [h[1] for h in history]},
               out / "best.pt")
    summary = {"final_averaged": final, "averaged_steps": [h[1] for h in history],
               "params": sum(p.numel() for p in params), "args": vars(args),
               "loss": ("oc_softmax" if one_class else ("cross_entropy+mixup" if args.mixup > 0 else "cross_entropy"))
               + (f"+label_smoothing(eps={args.label_smoothing})" if args.label_smoothing > 0 else "")
               + (f"+{'asam' if args.sam_adaptive else 'sam'}(rho={args.sam})" if args.sam > 0 else "")
               + (f"+freq_mask(p={args.freq_mask}, 0-1 kHz)" if args.freq_mask > 0 else "")
               + (f"+noise_floor(p={args.floor}, white, -75..-50 dBFS{', spoofs only' if args.floor_on == 'spoof' else ''})"
                  if args.floor > 0 else "")
               + (f"+mixstyle(p={args.mixstyle}, alpha={mixstyle.alpha:g}, within class, after max-pools 1-2)" if mixstyle is not None else "")
               + (f"+speaker_adversary(lambda={args.speaker_adv}, {len(speaker_of)} speakers, on {args.speaker_adv_on})" if adversary is not None else ""),
               "train_files": {"bonafide": len(train_b), "spoof": len(train_s)},
               "draw": draw,
               **({"held_out": held_out} if args.hold_out else {}),
               "attacks_seen": sorted({rows[i]["attack"] for i in train_s}),
               "wall_s": wall0 + time.time() - t0, "cpu_s": cpu0 + time.process_time() - c0}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    plot(out / "log.jsonl", out / "curves.png")
    print(json.dumps(final), flush=True)


if __name__ == "__main__":
    main()
