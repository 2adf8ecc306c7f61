"""Pydantic models of the REST payloads (they document ``/docs`` and ``/openapi.json``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """Every 4xx/5xx response."""

    error: str = Field(description="short title of the problem", examples=["bad audio"])
    detail: str = Field(description="which input is wrong and how to fix it")


class DetectSegment(BaseModel):
    """One scored window of the input."""

    start_s: float
    end_s: float
    score: float = Field(description="raw CM score of the window")
    llr: float | None = Field(default=None, description="calibrated LLR of the window")
    speech: float = Field(description="fraction of the window that is speech")
    used: bool = Field(description="whether the window took part in cm_score (enough speech)")


class DetectResponse(BaseModel):
    """Countermeasure result for one file."""

    file: str = Field(description="the uploaded file's name")
    cm_score: float = Field(description="raw CM score, logit[1] - logit[0]; higher = bona fide")
    cm_llr: float | None = Field(
        default=None, description="calibrated bona fide LLR (null without a calibration)"
    )
    decision: Literal["bonafide", "spoof", "no_speech"] = Field(
        description="cm_llr (or cm_score when uncalibrated) >= cm_threshold; no_speech when "
        "under 5 % of the audio is speech"
    )
    cm_decision: Literal["bonafide", "spoof", "no_speech"] | None = Field(
        default=None, description="the same as decision, named as in POST /verify"
    )
    cm_decision_score: float | None = Field(
        default=None, description="the score compared with cm_threshold: cm_llr, else cm_score"
    )
    cm_score_kind: Literal["llr", "logit difference", "cosine"] | None = Field(
        default=None, description="what cm_decision_score is"
    )
    cm_threshold: float
    cm_operating_point: str | None = Field(
        default=None, description="where cm_threshold comes from, in words"
    )
    duration_s: float
    segments: list[DetectSegment] = Field(
        default_factory=list,
        description="the windows covering the input; cm_score is the worst used window's",
    )


class SpeakerInfo(BaseModel):
    """A stored enrollment (the embedding itself is not returned)."""

    speaker_id: str
    count: int = Field(description="number of utterances averaged into the enrollment")
    embedding_dim: int
    model: str = Field(description="speaker model that produced the embedding")
    embedding_sha256: str = Field(description="sha256 of the float32 little-endian embedding")
    created_at: float = Field(description="Unix time of the first enrollment")
    updated_at: float = Field(description="Unix time of the last change")


class EnrollResponse(SpeakerInfo):
    """Result of ``POST /enroll``."""

    files: list[str] = Field(description="names of the files enrolled by this request")
    mode: Literal["replace", "append"]


class VerifyResponse(BaseModel):
    """Spoof-aware verification of one file against a claimed speaker."""

    speaker_id: str
    file: str
    cm_score: float = Field(description="raw CM score, logit[1] - logit[0]; higher = bona fide")
    cm_llr: float | None = Field(default=None, description="calibrated CM LLR, if calibrated")
    cm_decision: Literal["bonafide", "spoof", "no_speech"]
    asv_score: float = Field(description="cosine similarity to the enrollment; higher = target")
    asv_llr: float | None = Field(
        default=None, description="calibrated same-speaker LLR, if calibrated"
    )
    asv_decision: Literal["accept", "reject"] = Field(
        description="asv_decision_score >= asv_threshold (the words of the CLI and Python API; "
        "earlier versions of the service said target / nontarget)"
    )
    decision: Literal["accept", "reject"] | None = Field(
        default=None, description="the fused decision: accept = accepted"
    )
    accepted: bool = Field(description="bona fide AND same speaker (both thresholds passed)")
    cm_decision_score: float | None = Field(
        default=None, description="the CM score compared with cm_threshold: cm_llr, else cm_score"
    )
    cm_score_kind: Literal["llr", "logit difference", "cosine"] | None = None
    cm_threshold: float
    cm_operating_point: str | None = None
    asv_decision_score: float | None = Field(
        default=None,
        description="the ASV score compared with asv_threshold: asv_llr, else asv_score",
    )
    asv_score_kind: Literal["llr", "logit difference", "cosine"] | None = None
    asv_threshold: float
    asv_operating_point: str | None = Field(
        default=None, description="the speaker operating point in force, e.g. the target FAR"
    )
    duration_s: float


class SpeakerList(BaseModel):
    """A page of enrolled speakers, ordered by id."""

    total: int
    offset: int
    limit: int
    speakers: list[SpeakerInfo]


class DeleteResponse(BaseModel):
    """Result of ``DELETE /speakers/{id}``."""

    speaker_id: str
    deleted: bool


class HealthResponse(BaseModel):
    """Liveness and store reachability."""

    status: Literal["ok", "degraded"]
    store: str = Field(description="'ok' or the store error")
    speakers: int | None = None


class InfoResponse(BaseModel):
    """Models, thresholds and limits of this server."""

    version: str
    cm_model: str
    cm_weights: str
    spk_model: str
    spk_weights: str
    sample_rate: int
    embedding_dim: int | None
    cm_threshold: float
    cm_threshold_on: str = Field(description="'llr' or the raw score the threshold applies to")
    cm_operating_point: str | None = Field(
        default=None, description="where cm_threshold comes from, in words"
    )
    asv_threshold: float
    asv_threshold_on: str = Field(description="'llr' or 'cosine'")
    asv_operating_point: str | None = Field(
        default=None, description="how asv_threshold was chosen, e.g. a 1 % target false-accept rate"
    )
    asv_far_target: float | None = Field(
        default=None, description="target false-accept rate of asv_threshold, when set by one"
    )
    fusion: str
    store_backend: str
    auth_required_for_writes: bool
    max_upload_bytes: int
    max_duration_s: float
    min_duration_s: float
    max_files: int
