"""``POST /detect``: the countermeasure score of one uploaded file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from voxguard.serving.context import ServiceDep
from voxguard.serving.schemas import DetectResponse

router = APIRouter(tags=["cm"])


@router.post("/detect", response_model=DetectResponse)
def detect(
    svc: ServiceDep, file: Annotated[UploadFile, File(description="audio: wav/flac/ogg/mp3")]
) -> dict:
    """Countermeasure score of one file (is it bona fide human speech?)."""
    samples, seconds, label = svc.decode(file)
    result = svc.engine.detect(samples, svc.engine.sample_rate)
    return {
        "file": label,
        "cm_score": result["score"],
        "cm_llr": result.get("llr"),
        "decision": result["decision"],
        "cm_decision": result["decision"],
        "cm_decision_score": result.get("decision_score"),
        "cm_score_kind": result.get("score_kind"),
        "cm_operating_point": result.get("operating_point"),
        "cm_threshold": svc.info["cm_threshold"],
        "duration_s": seconds,
        "segments": result.get("segments", []),
    }
