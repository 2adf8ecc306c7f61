"""REST service (extra ``voxguard[serve]``): FastAPI app, enrollment store, web page.

``create_app(settings)`` builds the app; ``voxguard serve`` runs it with uvicorn.
"""

from voxguard.serving.app import create_app
from voxguard.serving.engine import Engine, ModelEngine
from voxguard.serving.settings import ServiceSettings
from voxguard.serving.store import (
    Enrollment,
    EnrollmentStore,
    SpeakerNotFoundError,
    StoreError,
    open_store,
)

__all__ = [
    "Engine",
    "Enrollment",
    "EnrollmentStore",
    "ModelEngine",
    "ServiceSettings",
    "SpeakerNotFoundError",
    "StoreError",
    "create_app",
    "open_store",
]
