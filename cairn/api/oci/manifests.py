"""``/v2/``: the version check, the token endpoint, manifests, tags and referrers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from cairn.api.bodies import StrictBodyRoute
from cairn.api.credentials import read_credentials
from cairn.api.deps import Override, Svc, capped_body, reading
from cairn.api.oci.auth import ANONYMOUS_TOKEN, Pinger, RepoReader, RepoWriter
from cairn.api.oci.errors import API_VERSION, PREFIX, TOKEN_PATH
from cairn.domain.oci import IMAGE_INDEX
from cairn.domain.oci_manifest import MANIFEST_MAX
from cairn.domain.records import OciManifest
from cairn.errors import Unauthenticated, Unsupported

router = APIRouter(route_class=StrictBodyRoute, prefix=PREFIX, include_in_schema=False)
PUBLIC = frozenset({TOKEN_PATH})  # it authenticates its caller itself


@router.get("/")
def version_check(actor: Pinger) -> Response:
    return JSONResponse({}, headers=API_VERSION)


@router.get("/token")
async def token(svc: Svc, request: Request) -> Response:
    """Exchange credentials (Basic, with a Cairn API token as the password; or that token as
    a bearer) for a short-lived registry token. Scopes asked for are not narrowed: the token
    may do what the Cairn token may."""
    given = read_credentials(request.headers.get("authorization"))
    request_id = getattr(request.state, "request_id", None)
    if given is None:
        if not svc.settings.anonymous_read:
            raise Unauthenticated("send Basic credentials: any user name, a Cairn token")
        issued_token, expires_in = ANONYMOUS_TOKEN, 3600
    else:
        issued = await reading(svc, svc.registry_tokens.issue, given.token, request_id)
        issued_token, expires_in = issued.token, issued.expires_in
    return _token_answer(issued_token, expires_in)


def _token_answer(issued_token: str, expires_in: int) -> JSONResponse:
    """The token endpoint's answer, as docker's token spec draws it (both names of the token)."""
    return JSONResponse(
        {
            "token": issued_token,
            "access_token": issued_token,
            "expires_in": expires_in,
            "issued_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/{name:path}/manifests/{reference}")
def get_manifest(
    svc: Svc, actor: RepoReader, name: str, reference: str, override: Override
) -> Response:
    """A manifest; a blocked version's is refused (403 DENIED) unless ``Cairn-Override``."""
    found = svc.oci.manifest(actor, name, reference, override)
    return Response(found.content, media_type=found.media_type, headers=_headers(found))


@router.head("/{name:path}/manifests/{reference}")
def head_manifest(
    svc: Svc, actor: RepoReader, name: str, reference: str, override: Override
) -> Response:
    found = svc.oci.manifest(actor, name, reference, override)
    headers = {**_headers(found), "Content-Type": found.media_type}
    return Response(headers={**headers, "Content-Length": str(found.size)})


@router.put("/{name:path}/manifests/{reference}", status_code=201)
async def put_manifest(
    svc: Svc, actor: RepoWriter, name: str, reference: str, request: Request
) -> Response:
    body = await capped_body(request, MANIFEST_MAX, "a manifest")
    content_type = request.headers.get("content-type", "")
    pushed = await run_in_threadpool(
        svc.oci_pushes.push, actor, name, reference, body, content_type
    )
    headers = {
        "Location": f"{PREFIX}/{name}/manifests/{pushed.manifest.digest}",
        "Docker-Content-Digest": pushed.manifest.digest,
    }
    if pushed.manifest.subject is not None:
        headers["OCI-Subject"] = pushed.manifest.subject
    if pushed.version is not None:
        headers["Cairn-Version"] = pushed.version.ref
    return Response(status_code=201, headers=headers)


@router.delete("/{name:path}/manifests/{reference}")
def delete_manifest(actor: RepoWriter, name: str, reference: str) -> Response:
    raise Unsupported(
        "Cairn versions are immutable: delete a version through Cairn's API, not its manifest"
    )


@router.get("/{name:path}/tags/list")
def list_tags(
    svc: Svc,
    actor: RepoReader,
    name: str,
    n: int | None = Query(default=None, ge=0, le=100_000),
    last: str | None = Query(default=None, max_length=256),
) -> Response:
    page = svc.oci.tags(actor, name, n, last)
    headers = {}
    if page.more and page.tags:
        following = f"{PREFIX}/{name}/tags/list?n={n}&last={quote(page.tags[-1])}"
        headers["Link"] = f'<{following}>; rel="next"'
    return JSONResponse({"name": name, "tags": page.tags}, headers=headers)


@router.get("/{name:path}/referrers/{digest}")
def list_referrers(
    svc: Svc,
    actor: RepoReader,
    name: str,
    digest: str,
    artifact_type: str | None = Query(default=None, alias="artifactType", max_length=256),
) -> Response:
    found = svc.oci.referrers(actor, name, digest, artifact_type)
    index = {
        "schemaVersion": 2,
        "mediaType": IMAGE_INDEX,
        "manifests": [_descriptor(m) for m in found],
    }
    headers = {"OCI-Filters-Applied": "artifactType"} if artifact_type is not None else {}
    return Response(json.dumps(index).encode(), media_type=IMAGE_INDEX, headers=headers)


def _descriptor(found: OciManifest) -> dict[str, object]:
    entry: dict[str, object] = {
        "mediaType": found.media_type,
        "digest": found.digest,
        "size": found.size,
    }
    if found.artifact_type is not None:
        entry["artifactType"] = found.artifact_type
    if found.annotations:
        entry["annotations"] = found.annotations
    return entry


def _headers(found: OciManifest) -> dict[str, str]:
    return {"Docker-Content-Digest": found.digest, "ETag": f'"{found.digest}"'}
