"""The Python API: ``SpoofDetector``, ``SpeakerVerifier`` and ``SASVSystem``.

Example:
    >>> from voxguard.api import SpoofDetector
    >>> det = SpoofDetector.from_pretrained("aasist", weights="AASIST.pth")  # doctest: +SKIP
    >>> det.score_file("utt.flac").score  # doctest: +SKIP
"""

from voxguard.api.detector import Detection, SpoofDetector
from voxguard.api.sasv import SASVResult, SASVSystem
from voxguard.api.verifier import (
    Embedding,
    SpeakerVerifier,
    Verification,
    cosine,
    load_embedding,
    save_embedding,
)

__all__ = [
    "Detection",
    "Embedding",
    "SASVResult",
    "SASVSystem",
    "SpeakerVerifier",
    "SpoofDetector",
    "Verification",
    "cosine",
    "load_embedding",
    "save_embedding",
]
