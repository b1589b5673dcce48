"""``/v2/<name>/blobs/``: blobs by digest (with ``Range``, read by ``api.ranges``) and uploads.

Uploads are Cairn's resumable upload sessions, so any server process continues any of them:
``POST uploads/`` opens one (or, with ``?digest=``, takes the whole blob at once; with
``?mount=``, finds it already here); ``PATCH`` appends at ``Content-Range`` (or at the end
when none is sent; out of order: 416); ``GET`` tells how far it got; ``PUT ?digest=``
closes it, with an optional last chunk, once the bytes hash to the digest; ``DELETE`` drops it.
"""

from __future__ import annotations

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from cairn.api.bodies import StrictBodyRoute
from cairn.api.deps import Svc, content_length
from cairn.api.oci.auth import RepoReader, RepoWriter
from cairn.api.oci.errors import PREFIX
from cairn.api.ranges import content_range, oci_range, upload_chunk
from cairn.api.streams import consume_body
from cairn.domain.digests import parse_digest
from cairn.domain.oci import parse_repository
from cairn.domain.records import UploadSession
from cairn.errors import InvalidDigest, Unsupported
from cairn.services.auth import Actor
from cairn.services.blobs import BlobRead
from cairn.services.container import Services
from cairn.storage.blobs import BlobStat

router = APIRouter(route_class=StrictBodyRoute, prefix=PREFIX, include_in_schema=False)
CHUNK_MAX = 1 << 40


@router.head("/{name:path}/blobs/{digest}")
def head_blob(svc: Svc, actor: RepoReader, name: str, digest: str) -> Response:
    stat = svc.blobs.stat(actor, _ns(name), digest)
    return Response(headers={**_blob_headers(stat.digest), "Content-Length": str(stat.size)})


@router.get("/{name:path}/blobs/{digest}", response_model=None)
def get_blob(
    svc: Svc, actor: RepoReader, name: str, digest: str, range: str | None = Header(default=None)
) -> StreamingResponse | RedirectResponse:
    """The blob's bytes; ``Range`` a part of them, as ``api.ranges`` says for ``/v2/``."""
    namespace = _ns(name)
    stat = svc.blobs.stat(actor, namespace, digest)
    span = oci_range(range, stat.size)
    direct = svc.blobs.direct_url(actor, namespace, digest)
    if direct is not None:
        return RedirectResponse(direct, status_code=307, headers={"Cache-Control": "no-store"})
    start, end = span if span is not None else (0, None)
    return _download(svc.blobs.read(actor, namespace, digest, start, end), ranged=span is not None)


@router.delete("/{name:path}/blobs/{digest}")
def delete_blob(actor: RepoWriter, name: str, digest: str) -> Response:
    raise Unsupported("blobs are stored once and collected by Cairn's garbage collector")


@router.post("/{name:path}/blobs/uploads/")
async def start_upload(
    svc: Svc,
    actor: RepoWriter,
    name: str,
    request: Request,
    digest: str | None = Query(default=None, max_length=200),
    mount: str | None = Query(default=None, max_length=200),
    source: str | None = Query(default=None, alias="from", max_length=300),
) -> Response:
    """Mount a blob held elsewhere (``?mount=``), take a whole blob at once (``?digest=``),
    or open an upload session; a mount of a blob not found here opens a session too."""
    if mount is not None:
        found = await run_in_threadpool(svc.oci.mount, actor, name, mount, source)
        if found is not None:
            return _created(name, found)
    elif digest is not None:
        return _created(name, await _whole_blob(svc, actor, name, request, digest))
    session = await run_in_threadpool(svc.blobs.start_upload, actor, _ns(name))
    return _session(name, session, 202)


@router.patch("/{name:path}/blobs/uploads/{session_id}")
async def append_upload(
    svc: Svc, actor: RepoWriter, name: str, session_id: str, request: Request
) -> Response:
    """Append the body at ``Content-Range`` (``api.ranges.upload_chunk``), or at the end."""
    namespace = _ns(name)
    session = await run_in_threadpool(svc.blobs.upload_status, actor, namespace, session_id)
    at = request.headers.get("content-range")
    offset, length = upload_chunk(at, session.offset, _declared_length(request))
    session = await consume_body(
        request,
        lambda chunks: svc.blobs.append(actor, namespace, session_id, offset, chunks, length),
    )
    return _session(name, session, 202)


@router.get("/{name:path}/blobs/uploads/{session_id}")
def upload_status(svc: Svc, actor: RepoWriter, name: str, session_id: str) -> Response:
    return _session(name, svc.blobs.upload_status(actor, _ns(name), session_id), 204)


@router.put("/{name:path}/blobs/uploads/{session_id}")
async def finish_upload(
    svc: Svc,
    actor: RepoWriter,
    name: str,
    session_id: str,
    request: Request,
    digest: str | None = Query(default=None, max_length=200),
) -> Response:
    """Close the upload: append the body, if any, then check the whole against ``digest``."""
    if digest is None:
        raise InvalidDigest("close an upload with ?digest=sha256:<hex> of the whole blob")
    return _created(name, await _finish(svc, actor, _ns(name), session_id, digest, request))


@router.delete("/{name:path}/blobs/uploads/{session_id}")
def cancel_upload(svc: Svc, actor: RepoWriter, name: str, session_id: str) -> Response:
    svc.blobs.cancel(actor, _ns(name), session_id)
    return Response(status_code=204)


async def _whole_blob(
    svc: Services, actor: Actor, name: str, request: Request, digest: str
) -> BlobStat:
    """A blob sent whole in the ``POST`` that would open an upload (``?digest=``)."""
    checked = parse_digest(digest)
    size = content_length(request, svc.settings.max_blob_bytes)
    return await consume_body(
        request, lambda chunks: svc.blobs.put(actor, _ns(name), chunks, checked, size)
    )


async def _finish(
    svc: Services, actor: Actor, namespace: str, session_id: str, digest: str, request: Request
) -> BlobStat:
    checked = parse_digest(digest)
    length = _declared_length(request)
    if length == 0 or (length is None and "transfer-encoding" not in request.headers):
        return await run_in_threadpool(svc.blobs.finish, actor, namespace, session_id, checked)
    # The last chunk and the check in one call: refused, the chunk is taken off again.
    return await consume_body(
        request,
        lambda chunks: svc.blobs.finish(actor, namespace, session_id, checked, chunks, length),
    )


def _download(read: BlobRead, *, ranged: bool) -> StreamingResponse:
    """The bytes of ``read``: the whole blob (200), or the range asked for (206)."""
    headers = {**_blob_headers(read.digest), "Content-Length": str(read.end - read.start)}
    if ranged:
        headers["Content-Range"] = content_range(read.start, read.end, read.size)
    return StreamingResponse(
        read.chunks,
        status_code=206 if ranged else 200,
        headers=headers,
        media_type="application/octet-stream",
    )


def _ns(name: str) -> str:
    """The namespace of repository ``name``: its blobs are the ones that namespace holds."""
    return parse_repository(name).namespace


def _declared_length(request: Request) -> int | None:
    if request.headers.get("content-length") is None:
        return None
    return content_length(request, CHUNK_MAX)


def _blob_headers(digest: str) -> dict[str, str]:
    return {
        "Docker-Content-Digest": digest,
        "ETag": f'"{digest}"',
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
    }


def _created(name: str, stat: BlobStat) -> Response:
    headers = {"Location": f"{PREFIX}/{name}/blobs/{stat.digest}"}
    return Response(status_code=201, headers={**headers, "Docker-Content-Digest": stat.digest})


def _session(name: str, session: UploadSession, status: int) -> Response:
    last = max(session.offset - 1, 0)
    headers = {
        "Location": f"{PREFIX}/{name}/blobs/uploads/{session.id}",
        "Range": f"0-{last}",
        "Docker-Upload-UUID": session.id,
    }
    return Response(status_code=status, headers=headers)
