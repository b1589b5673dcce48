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

from urllib.parse import quote

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from cairn.api import wire
from cairn.api.bodies import StrictBodyRoute
from cairn.api.deps import Body, Reader, Reg, Writer, content_length
from cairn.api.ranges import content_range, native_range
from cairn.api.routes import API_PREFIX
from cairn.api.streams import consume_body
from cairn.domain.records import UploadSession
from cairn.errors import InvalidInput

router = APIRouter(
    route_class=StrictBodyRoute, prefix=API_PREFIX + "/namespaces/{namespace}", tags=["blobs"]
)


@router.post("/blobs/missing")
def missing_blobs(reg: Reg, actor: Writer, namespace: str, body: Body) -> Response:
    if not isinstance(body, dict) or set(body) != {"digests"}:
        raise InvalidInput('ask with {"digests": ["sha256:…", …]}')
    return wire.ok({"missing": reg.blobs.missing(actor, namespace, body["digests"])})


@router.put("/blobs/{digest}", status_code=201)
async def put_blob(
    reg: Reg, actor: Writer, namespace: str, digest: str, request: Request
) -> Response:
    """Upload a whole blob in one request; the body must hash to ``digest``."""
    size = content_length(request, reg.settings.max_blob_bytes)
    stat = await consume_body(
        request, lambda chunks: reg.blobs.put(actor, namespace, chunks, digest, size)
    )
    return wire.ok(wire.blob(stat), 201)


@router.head("/blobs/{digest}")
def head_blob(reg: Reg, actor: Reader, namespace: str, digest: str) -> Response:
    stat = reg.blobs.stat(actor, namespace, digest)
    return Response(headers=_blob_headers(stat.digest, stat.size))


@router.get("/blobs/{digest}", response_model=None)
def get_blob(
    reg: Reg, actor: Reader, namespace: str, digest: str, range: str | None = Header(default=None)
) -> StreamingResponse | RedirectResponse:
    """The blob's bytes; ``Range: bytes=a-b`` gives part of them (206). With presigned
    downloads configured, a 307 to the object store instead (the client checks the digest)."""
    start, end = native_range(range)
    direct = reg.blobs.direct_url(actor, namespace, digest)
    if direct is not None:
        return RedirectResponse(direct, status_code=307, headers={"Cache-Control": "no-store"})
    read = reg.blobs.read(actor, namespace, digest, start, end)
    headers = _blob_headers(read.digest, read.end - read.start)
    status = 200
    if range is not None:
        status = 206
        headers["Content-Range"] = content_range(read.start, read.end, read.size)
    return StreamingResponse(
        read.chunks, status_code=status, headers=headers, media_type="application/octet-stream"
    )


@router.post("/uploads", status_code=201)
def start_upload(reg: Reg, actor: Writer, namespace: str) -> Response:
    session = reg.blobs.start_upload(actor, namespace)
    return _session_response(namespace, session, 201)


@router.get("/uploads/{session_id}")
def upload_status(reg: Reg, actor: Writer, namespace: str, session_id: str) -> Response:
    return _session_response(namespace, reg.blobs.upload_status(actor, namespace, session_id), 200)


@router.patch("/uploads/{session_id}")
async def append_upload(
    reg: Reg,
    actor: Writer,
    namespace: str,
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
        lambda chunks: reg.blobs.append(actor, namespace, session_id, offset, chunks, length),
    )
    return _session_response(namespace, session, 200)


@router.post("/uploads/{session_id}/finish", status_code=201)
def finish_upload(
    reg: Reg, actor: Writer, namespace: str, session_id: str, digest: str
) -> Response:
    return wire.ok(wire.blob(reg.blobs.finish(actor, namespace, session_id, digest)), 201)


@router.delete("/uploads/{session_id}", status_code=204)
def cancel_upload(reg: Reg, actor: Writer, namespace: str, session_id: str) -> Response:
    reg.blobs.cancel(actor, namespace, session_id)
    return Response(status_code=204)


def _session_response(namespace: str, session: UploadSession, status: int) -> Response:
    location = f"{API_PREFIX}/namespaces/{quote(namespace, safe='')}/uploads/{session.id}"
    return wire.ok(
        wire.upload(session),
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
