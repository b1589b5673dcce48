"""Imports: a version fetched by the server from where the model already lives."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Svc, Writer
from cairn.api.params import ModelName, NamespaceName
from cairn.api.routes import API_PREFIX
from cairn.api.routes.models import MODEL
from cairn.errors import InvalidMetadata
from cairn.wire.base import Refused
from cairn.wire.imports import NewImport
from cairn.wire.versions import Version

router = APIRouter(route_class=StrictBodyRoute, prefix=API_PREFIX, tags=["versions"])


@router.post(MODEL + "/imports", status_code=201, response_model=Version)
def import_version(
    svc: Svc,
    actor: Writer,
    namespace: NamespaceName,
    model: ModelName,
    body: Annotated[NewImport, Refused(InvalidMetadata)],
) -> Response:
    """Register a version from files the server fetches itself, from an ``s3://`` source under
    a prefix an administrator allows (``CAIRN_IMPORT_ALLOW``): hashed, scanned and registered
    like a push. Any other source is refused (``import_source_refused``) before anything is
    fetched."""
    version = svc.imports.import_version(actor, namespace, model, body.source, body.metadata())
    location = f"{API_PREFIX}/models/{version.namespace}/{version.model}/versions/{version.number}"
    return ok(Version.of(version), 201, {"Location": location})
