"""Speakers: ``POST /enroll``, ``POST /verify``, ``GET /speakers``, ``GET|DELETE
/speakers/{id}``. Writes (enroll, delete) need the API key when the server has one."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi import Path as PathParam

from voxguard.serving.auth import require_api_key
from voxguard.serving.context import ServiceDep, speaker_info
from voxguard.serving.errors import ApiError
from voxguard.serving.schemas import (
    DeleteResponse,
    EnrollResponse,
    SpeakerInfo,
    SpeakerList,
    VerifyResponse,
)
from voxguard.serving.settings import SPEAKER_ID_PATTERN

MAX_OFFSET = 1 << 31  # far past any real store; bounds the SQL integer (no OverflowError)

SpeakerForm = Annotated[
    str,
    Form(pattern=SPEAKER_ID_PATTERN, description="speaker id: 1-64 letters, digits, '_' or '-'"),
]
SpeakerPath = Annotated[str, PathParam(pattern=SPEAKER_ID_PATTERN)]

router = APIRouter(tags=["speakers"])
_write_auth = [Depends(require_api_key)]


@router.post("/enroll", response_model=EnrollResponse, dependencies=_write_auth)
def enroll(
    svc: ServiceDep,
    speaker_id: SpeakerForm,
    files: Annotated[list[UploadFile], File(description="one or more recordings")],
    mode: Annotated[Literal["replace", "append"], Form()] = "replace",
) -> dict:
    """Enroll a speaker: the mean embedding of the files (``append`` adds to it)."""
    if len(files) > svc.settings.max_files:
        raise ApiError(
            422,
            "too many files",
            f"{len(files)} files sent, at most {svc.settings.max_files} per request; "
            "enroll the rest with mode=append",
        )
    decoded = [svc.decode(f) for f in files]
    rate = svc.engine.sample_rate
    embeddings = np.stack([svc.engine.embed(s, rate) for s, _, _ in decoded])
    enrollment = svc.store.enroll(speaker_id, embeddings, svc.info["spk_model"], mode=mode)
    return {**speaker_info(enrollment), "files": [lbl for _, _, lbl in decoded], "mode": mode}


@router.post("/verify", response_model=VerifyResponse)
def verify(
    svc: ServiceDep,
    speaker_id: SpeakerForm,
    file: Annotated[UploadFile, File(description="the test recording")],
) -> dict:
    """Is this recording bona fide AND the claimed speaker? CM + ASV scores, fused decision."""
    info = svc.info
    enrollment = svc.store.get(speaker_id)
    if enrollment.model != info["spk_model"] or enrollment.dim != info["embedding_dim"]:
        raise ApiError(
            409,
            "enrollment from another model",
            f"speaker {speaker_id!r} was enrolled with {enrollment.model!r} "
            f"({enrollment.dim}-dim) but this server runs {info['spk_model']!r}; "
            "enroll the speaker again (POST /enroll)",
        )
    samples, seconds, label = svc.decode(file)
    result = svc.engine.verify(enrollment.embedding, samples, svc.engine.sample_rate)
    return {
        **result,
        "speaker_id": speaker_id,
        "file": label,
        "duration_s": seconds,
        "cm_threshold": info["cm_threshold"],
        "asv_threshold": info["asv_threshold"],
        "asv_operating_point": info.get("asv_operating_point"),
    }


@router.get("/speakers", response_model=SpeakerList)
def list_speakers(
    svc: ServiceDep,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict:
    """Enrolled speakers, ordered by id (paged)."""
    rows = svc.store.list(offset=offset, limit=limit)
    return {
        "total": svc.store.count(),
        "offset": offset,
        "limit": limit,
        "speakers": [speaker_info(e) for e in rows],
    }


@router.get("/speakers/{speaker_id}", response_model=SpeakerInfo)
def get_speaker(svc: ServiceDep, speaker_id: SpeakerPath) -> dict:
    """One enrollment (count, model, embedding checksum)."""
    return speaker_info(svc.store.get(speaker_id))


@router.delete("/speakers/{speaker_id}", response_model=DeleteResponse, dependencies=_write_auth)
def delete_speaker(svc: ServiceDep, speaker_id: SpeakerPath) -> dict:
    """Remove an enrollment."""
    svc.store.delete(speaker_id)
    return {"speaker_id": speaker_id, "deleted": True}
