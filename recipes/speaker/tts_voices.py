"""Generated TTS voices as extra training classes for the distillation (twentieth session).

Every voice is one class: ``per_voice`` sentences read by it, the teacher's embeddings as
targets, AAM on its label as on a real speaker. None of the voices of the ASV's TTS report
(``operating_point.py``: espeak-ng en-us, en-us+m3, en-us+f3, en-gb; flite kal16 / slt / awb /
rms; piper joe) is used, so that report stays a test on voices the student never saw.

- espeak-ng: 6 accents x 5 variants drawn at random (not m3 / f3), one fixed pitch per voice
  (30-70), the speed drawn per sentence (140-180 words a minute);
- festival: kal_diphone, ked_diphone, cmu_us_slt_arctic_hts;
- kokoro: its 5 voices and 5 fixed two-voice mixtures of their style vectors.

Sentences: the first 8-20 words of training-split transcripts (LibriSpeech transcripts are
longer than the 6-s excerpts here), lower case.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from voxguard.data.synth import tts

ESPEAK_ACCENTS = (
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-rp",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
ESPEAK_VARIANTS = (
    "m1", "m2", "m4", "m5", "m6", "m7", "f1", "f2", "f4", "f5", "klatt", "klatt2", "klatt3",
    "Andy", "Annie", "Alicia", "Denis", "Ed", "Edward", "Gene", "Jacky", "Lee", "Linda",
    "Michael", "Mike", "Paul", "Robert", "Steph", "Zac", "anika", "grandma", "grandpa",
    "norbert", "shelby", "travis", "victor",
)  # fmt: skip
HELD_OUT = {  # the voices of the TTS-against-enrolled-speakers report
    "espeak:en-us", "espeak:en-us+m3", "espeak:en-us+f3", "espeak:en-gb",
    "flite:kal16", "flite:slt", "flite:awb", "flite:rms", "piper:joe",
}  # fmt: skip


@dataclass(frozen=True)
class Voice:
    name: str  # the class name, ``tts:<engine>:<voice>``
    engine: str
    voice: str
    pitch: int = 50

    def say(self, text: str, rng: np.random.Generator) -> np.ndarray:
        if self.engine == "espeak":
            return tts.espeak_ng(
                text, self.voice, speed=int(rng.integers(140, 181)), pitch=self.pitch
            )
        if self.engine == "festival":
            return tts.festival(text, self.voice)
        if self.engine == "kokoro":
            return tts.kokoro(text, self.voice, speed=float(rng.uniform(0.9, 1.1)))
        raise ValueError(f"unknown engine {self.engine!r}")


def voices(seed: int = 0) -> list[Voice]:
    """The 43 voices, the same for a given seed."""
    rng = np.random.default_rng(seed)
    out = []
    for accent in ESPEAK_ACCENTS:
        for variant in rng.choice(ESPEAK_VARIANTS, 5, replace=False):
            v = f"{accent}+{variant}"
            out.append(Voice(f"tts:espeak:{v}", "espeak", v, pitch=int(rng.integers(30, 71))))
    for v in tts.FESTIVAL_VOICES:
        out.append(Voice(f"tts:festival:{v}", "festival", v))
    mixes = list(combinations(tts.KOKORO_VOICES, 2))
    picked = [mixes[i] for i in sorted(rng.choice(len(mixes), 5, replace=False))]
    for v in [*tts.KOKORO_VOICES, *("+".join(m) for m in picked)]:
        out.append(Voice(f"tts:kokoro:{v}", "kokoro", v))
    assert not {f"{x.engine}:{x.voice}" for x in out} & HELD_OUT
    return out


def sentences(train: list[dict], n: int, rng: np.random.Generator) -> list[str]:
    """``n`` sentences of 8-20 words from the transcripts of ``train`` entries that have one."""
    texts = [e["text"] for e in train if len(e.get("text", "").split()) >= 8]
    out = []
    for i in rng.choice(len(texts), n, replace=False):
        words = texts[i].lower().split()
        out.append(" ".join(words[: int(rng.integers(8, 21))]))
    return out
