"""``voxguard demo``: spoof-aware speaker verification end to end, offline, in seconds.

Enrolls a speaker from two utterances, then runs a genuine trial (same speaker), two impostor
trials (a man and a woman) and spoofed trials (vocoder copies of the genuine utterance:
Griffin-Lim, a neural HiFi-GAN-style vocoder, that copy over an Opus codec; espeak-ng and
piper TTS) through the countermeasure, the speaker model and their cascade fusion, and prints
a results table with one line of explanation per trial.

Models: the default bundled weights when voxguard ships them; otherwise tiny **untrained**
debug models, clearly labelled: their scores show the plumbing, not real accuracy. Pass
``--cm-model/--cm-weights`` and ``--asv-model/--asv-weights`` to use real models. The audio is
real speech shipped with voxguard (five LibriSpeech test-other clips) plus spoofs generated
here; ``--save-audio DIR`` writes it for listening.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.cli._common import add_model_args, emit, start_up

RATE = 16000
DEMO_AUDIO = Path(__file__).resolve().parent.parent / "assets" / "demo"


def demo_audio(seed: int = 0) -> tuple[list[np.ndarray], list[tuple[str, str, np.ndarray]]]:
    """Enrollment utterances and ``(name, kind, audio)`` trials.

    Real speech shipped with voxguard (LibriSpeech test-other, see ``assets/demo/README.md``):
    speaker A (male) enrolls with two utterances; the trials are a third utterance of A
    (genuine), utterances of speakers B (male) and C (female) (impostors), and spoofs of A:
    his genuine utterance re-synthesised by Griffin-Lim and by the HiFi-GAN-style neural
    vocoder voxguard ships (copy-synthesis: his own voice and words), that neural copy sent
    through an Opus codec (a deepfake replayed over a VoIP channel), an espeak-ng formant TTS
    utterance and a piper (VITS) neural TTS utterance. A spoof whose generator is not
    installed is left out.
    """
    from voxguard.audio import load_audio
    from voxguard.data.synth.vocoders import griffin_lim

    def clip(name: str) -> np.ndarray:
        return load_audio(DEMO_AUDIO / f"{name}.flac", RATE)[0]

    enroll = [clip("speaker_a_enroll1"), clip("speaker_a_enroll2")]
    genuine = clip("speaker_a_test")
    trials = [
        ("genuine", "target", genuine),
        ("impostor-male", "nontarget", clip("speaker_b_test")),
        ("impostor-female", "nontarget", clip("speaker_c_test")),
        ("spoof-griffinlim", "spoof", griffin_lim(genuine, seed=seed)),
    ]
    text = "Please verify my voice, I am the account holder."
    makers = [
        ("spoof-hifigan-copy", lambda: _neural_copy(genuine)),
        ("spoof-hifigan-opus", lambda: _opus(_neural_copy(genuine))),
        ("spoof-espeak-tts", lambda: _tts("espeak_ng", text)),
        ("spoof-piper-tts", lambda: _tts("piper", text)),
    ]
    for name, make in makers:
        try:
            trials.append((name, "spoof", np.asarray(make(), dtype=np.float32)))
        except Exception:  # noqa: BLE001 - generator absent: the other spoofs still run
            pass
    return enroll, trials


def _neural_copy(x: np.ndarray) -> np.ndarray:
    from voxguard.data.synth.neural_vocoders import vocode

    return vocode(x, "hifigan_gan")


def _opus(x: np.ndarray) -> np.ndarray:
    from voxguard.audio.augment import apply_codec

    return apply_codec(x, "opus", RATE)


def _tts(engine: str, text: str) -> np.ndarray:
    from voxguard.data.synth import tts

    return getattr(tts, engine)(text)


def _models(args: argparse.Namespace) -> tuple[Any, Any, list[str]]:
    import torch

    from voxguard.api import SpeakerVerifier, SpoofDetector
    from voxguard.api._load import default_model

    notes = []
    cm_name = args.cm_model or default_model("cm")
    asv_name = args.asv_model or default_model("spk")
    torch.manual_seed(0)
    if cm_name is None:
        cm = SpoofDetector.from_pretrained("debug_cm", random_init=True)
        notes.append(
            "CM: no bundled weights -> UNTRAINED random-init debug_cm (scores are meaningless)"
        )
    else:
        cm = SpoofDetector.from_pretrained(
            cm_name, weights=args.cm_weights, calibration=args.cm_calibration
        )
    if asv_name is None:
        asv = SpeakerVerifier.from_pretrained("debug_spk", random_init=True)
        notes.append(
            "ASV: no bundled weights -> UNTRAINED random-init debug_spk (scores are meaningless)"
        )
    else:
        asv = SpeakerVerifier.from_pretrained(
            asv_name, weights=args.asv_weights, calibration=args.asv_calibration
        )
    return cm, asv, notes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="end-to-end SASV demo on shipped real speech and generated spoofs (offline)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_args(p, "cm", prefix="cm-")
    add_model_args(p, "spk", prefix="asv-")
    p.add_argument(
        "--save-audio", metavar="DIR", default=None, help="write the demo audio here"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the generated spoofs")
    p.add_argument("--json", action="store_true", help="one JSON record per trial")
    p.set_defaults(func=run)


def _describe(scorer: Any) -> str:
    """``bundle (architecture)`` for bundled or saved weights, else the model name."""
    weights = getattr(scorer, "weights_path", None)
    if weights is None:
        return f"{scorer.name} (untrained)"
    return f"{Path(weights).name} ({scorer.name})" if Path(weights).name != scorer.name else scorer.name


def _rule(scorer: Any, positive: str) -> str:
    kind = scorer.score_kind
    rule = f"{positive} if {'LLR' if kind == 'llr' else kind} >= {scorer.decision_threshold:.3g}"
    if getattr(scorer, "task", "") == "cm" and kind == "llr" and scorer.decision_threshold == 0:
        return f"{rule} (equal priors and costs; calibration fitted on the engine dev split)"
    op = getattr(scorer, "operating_point", None)
    if op is not None and hasattr(op, "describe"):
        return f"{rule} ({op.describe()})"
    return rule


def _explain(res: Any, cm: Any, asv: Any) -> str:
    """One line: which score crossed which threshold, and so why the decision."""
    cm_t, asv_t = cm.decision_threshold, asv.decision_threshold
    cm_kind = "CM LLR" if cm.score_kind == "llr" else "CM score"
    asv_kind = "ASV LLR" if asv.score_kind == "llr" else "ASV cosine"
    if res.cm_decision != "bonafide":
        why = (
            f"{cm_kind} {res.cm_value:+.2f} < {cm_t:+.2f}: not bona fide ({res.cm_decision}), "
            "rejected whatever the speaker score"
        )
    else:
        rel = ">=" if res.asv_decision == "accept" else "<"
        why = (
            f"{cm_kind} {res.cm_value:+.2f} >= {cm_t:+.2f}: bona fide; "
            f"{asv_kind} {res.asv_value:+.2f} {rel} {asv_t:+.2f}: "
            f"{'the enrolled speaker' if res.asv_decision == 'accept' else 'not the enrolled speaker'}"
        )
    return f"-> {res.decision}: {why}"


def run(args: argparse.Namespace) -> int:
    from voxguard.api import SASVSystem

    with start_up():
        cm, asv, notes = _models(args)
    if args.cm_threshold is not None:
        cm.threshold = args.cm_threshold
    if args.asv_threshold is not None:
        asv.threshold = args.asv_threshold
    system = SASVSystem(cm, asv)
    enroll, trials = demo_audio(args.seed)
    if args.save_audio:
        from voxguard.audio import save_audio

        out = Path(args.save_audio)
        for i, x in enumerate(enroll):
            save_audio(out / f"enroll{i + 1}.wav", x, RATE)
        for name, _, x in trials:
            save_audio(out / f"{name}.wav", x, RATE)
    enrollment = system.enroll(enroll)
    expected = {"target": "accept", "nontarget": "reject", "spoof": "reject"}
    cm_col = "CM LLR" if cm.score_kind == "llr" else "CM score"
    asv_col = "ASV LLR" if asv.score_kind == "llr" else "ASV cos"
    if not args.json:
        print("voxguard demo: spoof-aware speaker verification on real speech and generated spoofs")
        print(f"  CM  model: {_describe(cm)}; {_rule(cm, 'bona fide')}")
        print(f"  ASV model: {_describe(asv)}; {_rule(asv, 'target')}")
        for note in notes:
            print(f"  NOTE: {note}")
        print(
            f"  enrolled speaker A from {len(enroll)} utterances; fusion: cascade (bona fide AND target)\n"
        )
        print(
            f"{'trial':18s} {'kind':10s} {cm_col:>9s} {'CM says':9s} {asv_col:>8s} {'ASV says':9s} "
            f"{'decision':9s} {'expected':9s}"
        )
    correct = 0
    for name, kind, audio in trials:
        res = system.verify(enrollment, audio, RATE)
        correct += res.decision == expected[kind]
        if args.json:
            emit({"trial": name, "kind": kind, **res.to_dict(), "expected": expected[kind]})
        else:
            ok = res.decision == expected[kind]
            print(
                f"{name:18s} {kind:10s} {res.cm_value:+9.3f} {res.cm_decision:9s} {res.asv_value:+8.3f} "
                f"{res.asv_decision:9s} {res.decision:9s} {expected[kind]:9s} {'ok' if ok else 'WRONG'}"
            )
            print(f"    {_explain(res, cm, asv)}")
    if not args.json:
        print(
            f"\n{correct} of {len(trials)} trials decided as expected"
            + (" (untrained models: expect chance level)" if notes else "")
        )
    return 0
