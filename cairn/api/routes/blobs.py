"""Blobs and resumable upload sessions, per namespace: ``/namespaces/{namespace}/…``.

A blob is readable through a namespace only when one of its versions or uploads holds it, and
every answer here is about that namespace alone (DESIGN §2.11): ``POST …/blobs/missing`` says
which digests the namespace lacks, whoever else holds them; small blobs go up whole with
``PUT …/blobs/{digest}``; large ones through an upload session: ``POST …/uploads`` →
``PATCH …/uploads/{id}`` with ``Upload-Offset`` (repeat; ``GET`` tells the current offset after
an interruption) → ``POST …/uploads/{id}/finish?digest=…``. Bytes the server holds for another
namespace are sent all the same (the client proves it has them) and stored once. Downloads
honour ``Range`` and carry the digest in ``Cairn-Digest``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Reader, Svc, Writer, content_length
from cairn.api.params import Digest, NamespaceName
from cairn.api.ranges import content_range, native_range
from cairn.api.routes import API_PREFIX
from cairn.api.streams import consume_body
from cairn.domain import records
from cairn.errors import InvalidInput
from cairn.wire.blobs import Blob, DigestList, MissingBlobs, UploadSession

router = APIRouter(
    route_class=StrictBodyRoute, prefix=API_PREFIX + "/namespaces/{namespace}", tags=["blobs"]
)
BYTES = {"schema": {"type": "string", "format": "binary"}}
RAW_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/octet-stream": BYTES}}
}


def _headers(**described: str) -> dict[str, Any]:
    return {
        name.replace("_", "-").title(): {"description": text, "schema": {"type": "string"}}
        for name, text in described.items()
    }


BLOB_HEADERS = _headers(
    cairn_digest="The blob's digest; check the bytes against it.",
    content_length="The bytes sent.",
)
SESSION = {
    "headers": _headers(
        location="The session's URL.", upload_offset="The bytes held so far (as ``offset``)."
    )
}
DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The blob's bytes.",
        "content": {"application/octet-stream": BYTES},
        "headers": BLOB_HEADERS,
    },
    206: {
        "description": "The bytes of the range asked for (see `Content-Range`).",
        "content": {"application/octet-stream": BYTES},
        "headers": {**BLOB_HEADERS, **_headers(content_range="`bytes a-b/size`")},
    },
    307: {
        "description": "Fetch the bytes from the object store at `Location` (presigned).",
        "headers": _headers(location="A presigned URL of the blob."),
    },
    416: {},
}


@router.post("/blobs/missing", response_model=MissingBlobs)
def missing_blobs(svc: Svc, actor: Writer, namespace: NamespaceName, body: DigestList) -> Response:
    """Which of these digests the namespace does not hold yet: the blobs to upload before
    registering a version that names them."""
    return ok(MissingBlobs(missing=svc.blobs.missing(actor, namespace, body.digests)))


@router.put(
    "/blobs/{digest}",
    status_code=201,
    response_model=Blob,
    openapi_extra=RAW_BODY,
    responses={507: {}},
)
async def put_blob(
    svc: Svc, actor: Writer, namespace: NamespaceName, digest: Digest, request: Request
) -> Response:
    """Upload a whole blob in one request (with its ``Content-Length``); the bytes must hash
    to ``digest``."""
    size = content_length(request, svc.settings.max_blob_bytes)
    stat = await consume_body(
        request, lambda chunks: svc.blobs.put(actor, namespace, chunks, digest, size)
    )
    return ok(Blob.of(stat), 201)


@router.head("/blobs/{digest}", response_class=Response, responses={200: {"headers": BLOB_HEADERS}})
def head_blob(svc: Svc, actor: Reader, namespace: NamespaceName, digest: Digest) -> Response:
    """Whether the namespace holds the blob (200) or not (404), and its size."""
    stat = svc.blobs.stat(actor, namespace, digest)
    return Response(headers=_blob_headers(stat.digest, stat.size))


@router.get(
    "/blobs/{digest}", response_model=None, response_class=StreamingResponse, responses=DOWNLOAD
)
def get_blob(
    svc: Svc,
    actor: Reader,
    namespace: NamespaceName,
    digest: Digest,
    range: str | None = Header(default=None),
) -> StreamingResponse | RedirectResponse:
    """The blob's bytes; ``Range: bytes=a-b`` gives part of them (206). With presigned
    downloads configured, a 307 to the object store instead (the client checks the digest)."""
    start, end = native_range(range)
    direct = svc.blobs.direct_url(actor, namespace, digest)
    if direct is not None:
        return RedirectResponse(direct, status_code=307, headers={"Cache-Control": "no-store"})
    read = svc.blobs.read(actor, namespace, digest, start, end)
    headers = _blob_headers(read.digest, read.end - read.start)
    status = 200
    if range is not None:
        status = 206
        headers["Content-Range"] = content_range(read.start, read.end, read.size)
    return StreamingResponse(
        read.chunks, status_code=status, headers=headers, media_type="application/octet-stream"
    )


@router.post("/uploads", status_code=201, response_model=UploadSession, responses={201: SESSION})
def start_upload(svc: Svc, actor: Writer, namespace: NamespaceName) -> Response:
    """Open an upload session, for a blob too large to send in one request."""
    session = svc.blobs.start_upload(actor, namespace)
    return _session_response(namespace, session, 201)


@router.get("/uploads/{session_id}", response_model=UploadSession, responses={200: SESSION})
def upload_status(svc: Svc, actor: Writer, namespace: NamespaceName, session_id: str) -> Response:
    """How many bytes the session holds: where to resume after an interruption."""
    return _session_response(namespace, svc.blobs.upload_status(actor, namespace, session_id), 200)


@router.patch(
    "/uploads/{session_id}",
    response_model=UploadSession,
    openapi_extra=RAW_BODY,
    responses={200: SESSION, 507: {}},
)
async def append_upload(
    svc: Svc,
    actor: Writer,
    namespace: NamespaceName,
    session_id: str,
    request: Request,
    upload_offset: str = Header(),
) -> Response:
    """Append the body at ``Upload-Offset``, which must equal the bytes held so far."""
    if not upload_offset.isascii() or not upload_offset.isdigit() or len(upload_offset) > 19:
        raise InvalidInput("Upload-Offset is a whole number of bytes")
    length = content_length(request, 1 << 40)
    offset = int(upload_offset)
    session = await consume_body(
        request,
        lambda chunks: svc.blobs.append(actor, namespace, session_id, offset, chunks, length),
    )
    return _session_response(namespace, session, 200)


@router.post(
    "/uploads/{session_id}/finish", status_code=201, response_model=Blob, responses={507: {}}
)
def finish_upload(
    svc: Svc, actor: Writer, namespace: NamespaceName, session_id: str, digest: str
) -> Response:
    """Close the session: its bytes must hash to ``digest``; the blob is then the namespace's."""
    return ok(Blob.of(svc.blobs.finish(actor, namespace, session_id, digest)), 201)


@router.delete("/uploads/{session_id}", status_code=204)
def cancel_upload(svc: Svc, actor: Writer, namespace: NamespaceName, session_id: str) -> Response:
    """Drop the session and the bytes it holds."""
    svc.blobs.cancel(actor, namespace, session_id)
    return Response(status_code=204)


def _session_response(
    namespace: NamespaceName, session: records.UploadSession, status: int
) -> Response:
    location = f"{API_PREFIX}/namespaces/{quote(namespace, safe='')}/uploads/{session.id}"
    return ok(
        UploadSession.of(session),
        status,
        headers={"Upload-Offset": str(session.offset), "Location": location},
    )


def _blob_headers(digest: str, length: int) -> dict[str, str]:
    return {
        "Cairn-Digest": digest,
        "ETag": f'"{digest}"',
        "Accept-Ranges": "bytes",
        "Content-Length": str(length),
        "Cache-Control": "private, max-age=31536000, immutable",
        # Model bytes are never rendered: a browser saves them, and never sniffs a type.
        "Content-Disposition": f'attachment; filename="{digest.partition(":")[2]}"',
        "X-Content-Type-Options": "nosniff",
    }
