"""The service itself: ``GET /health`` and ``GET /info``."""

from __future__ import annotations

from fastapi import APIRouter

from voxguard import __version__
from voxguard.serving.context import ServiceDep
from voxguard.serving.schemas import HealthResponse, InfoResponse
from voxguard.serving.store import StoreError

router = APIRouter(tags=["service"])


@router.get("/health", response_model=HealthResponse)
def health(svc: ServiceDep) -> dict:
    """Liveness; ``degraded`` when the store does not answer."""
    try:
        return {"status": "ok", "store": "ok", "speakers": svc.store.count()}
    except StoreError as exc:
        return {"status": "degraded", "store": str(exc)}


@router.get("/info", response_model=InfoResponse)
def server_info(svc: ServiceDep) -> dict:
    """Models, thresholds, fusion rule and limits."""
    s = svc.settings
    return {
        **svc.info,
        "version": __version__,
        "store_backend": svc.store.backend,
        "auth_required_for_writes": s.api_key is not None,
        "max_upload_bytes": s.max_upload_bytes,
        "max_duration_s": s.max_duration_s,
        "min_duration_s": s.min_duration_s,
        "max_files": s.max_files,
    }
