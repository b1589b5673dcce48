"""MLflow's artifact routes: PUT a file, GET a file, GET a folder listing with ``?path=``.

Uploads stream into the blob store, hashed as they arrive (memory stays flat whatever the
size). Paths under ``_cairn/versions/`` are a read-only tree of every Cairn version's files,
which is where ``get-download-uri`` sends the client.
"""

from __future__ import annotations

import posixpath
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Override, Reader, Svc, Writer, content_length, gated
from cairn.api.mlflow import ARTIFACTS_PREFIX
from cairn.api.mlflow import wire as w
from cairn.api.streams import consume_body
from cairn.domain.tracking import artifact_path, upload_path

router = APIRouter(route_class=StrictBodyRoute, prefix=ARTIFACTS_PREFIX, tags=["mlflow"])


@router.put("/{path:path}")
async def put_artifact(svc: Svc, actor: Writer, path: str, request: Request) -> Response:
    """Store one file; MLflow's client wants exactly 200 with an empty body."""
    checked = upload_path(path)  # before a byte of the body is read
    content_length(request, svc.settings.mlflow_max_artifact_bytes)
    await consume_body(request, lambda chunks: svc.tracking.put_artifact(actor, checked, chunks))
    return Response(status_code=200)


@router.get("/{path:path}")
async def get_artifact(svc: Svc, actor: Reader, path: str, override: Override) -> StreamingResponse:
    """A file; under the version tree, refused for a blocked version unless ``Cairn-Override``."""
    checked = artifact_path(path)
    read = await gated(svc, svc.mlflow.read_artifact, actor, checked, override=override)
    name = quote(posixpath.basename(checked))
    headers = {
        "Content-Length": str(read.end - read.start),
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
        "Cairn-Digest": read.digest,
    }
    return StreamingResponse(read.chunks, headers=headers, media_type="application/octet-stream")


@router.get("")
async def list_artifacts(
    svc: Svc, actor: Reader, override: Override, path: str | None = None
) -> Response:
    """The direct children of folder ``path``; ``{}`` for a file or a path that holds none."""
    checked = artifact_path(path)
    entries = await gated(svc, svc.mlflow.list_artifacts, actor, checked, override=override)
    return ok(w.artifact_listing(entries))
