"""Audio decoding, resampling and cropping (one module decodes audio: :mod:`voxguard.audio.io`)."""

from voxguard.audio.crop import AASIST_CROP, eval_crop, sliding_windows, tile_to, train_crop
from voxguard.audio.io import (
    DEFAULT_SAMPLE_RATE,
    AudioLimitError,
    DecodeLimits,
    audio_info,
    check_limits,
    load_audio,
    prepare_waveform,
    save_audio,
    stream_audio,
)
from voxguard.audio.resample import resample

__all__ = [
    "AASIST_CROP",
    "DEFAULT_SAMPLE_RATE",
    "AudioLimitError",
    "DecodeLimits",
    "audio_info",
    "check_limits",
    "eval_crop",
    "load_audio",
    "prepare_waveform",
    "resample",
    "save_audio",
    "sliding_windows",
    "stream_audio",
    "tile_to",
    "train_crop",
]
