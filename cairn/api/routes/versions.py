"""Versions: register, read, list, update, delete, tag; reference resolution and search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Admin, Override, Reader, Svc, Writer, gated, reading, writing
from cairn.api.params import ModelName, NamespaceName, Selector
from cairn.api.routes import API_PREFIX
from cairn.api.routes.models import MODEL
from cairn.domain import records
from cairn.domain.references import Reference, model_ref, parse_reference, parse_selector
from cairn.errors import InvalidMetadata
from cairn.wire.base import Items, Page, Refused
from cairn.wire.registrations import NewVersion
from cairn.wire.tags import TagValue
from cairn.wire.versions import Validation, Version, VersionChanges

router = APIRouter(route_class=StrictBodyRoute, prefix=API_PREFIX, tags=["versions"])
VERSION = MODEL + "/versions/{selector}"


def version_ref(namespace: str, model: str, selector: str) -> Reference:
    """The reference that a version URL names, checked by the same parser as any other."""
    number, alias = parse_selector(selector)
    return model_ref(namespace, model, number=number, alias=alias)


def version_page(page: records.Page[records.Version]) -> Page[Version]:
    return Page[Version](items=[Version.of(v) for v in page.items], next_cursor=page.next_cursor)


@router.post(
    MODEL + "/versions",
    status_code=201,
    response_model=Version,
    responses={200: {"model": Version, "description": "An earlier registration, named again."}},
)
async def register_version(
    svc: Svc,
    actor: Writer,
    namespace: NamespaceName,
    model: ModelName,
    body: Annotated[NewVersion, Refused(InvalidMetadata)],
    idempotency_key: str | None = Header(default=None),
) -> Response:
    """Register a version from blobs uploaded to the namespace; the model is created with its
    first version. 201 when created; 200 when the idempotency key names an earlier
    registration of the same request."""
    registered = await writing(
        svc,
        body.is_small,
        lambda: svc.versions.register(actor, namespace, model, body.registration(idempotency_key)),
    )
    version = registered.version
    location = f"{API_PREFIX}/models/{version.namespace}/{version.model}/versions/{version.number}"
    return ok(Version.of(version), 201 if registered.created else 200, {"Location": location})


@router.get(MODEL + "/versions", response_model=Page[Version])
async def list_versions(
    svc: Svc,
    actor: Reader,
    namespace: NamespaceName,
    model: ModelName,
    cursor: str | None = None,
    limit: int | None = None,
) -> Response:
    """A model's versions, newest first."""
    page = await reading(svc, svc.versions.page, actor, namespace, model, cursor, limit)
    return ok(version_page(page))


@router.get(VERSION, response_model=Version, responses={409: {}})
async def get_version(
    svc: Svc,
    actor: Reader,
    namespace: NamespaceName,
    model: ModelName,
    selector: Selector,
    override: Override,
    files: bool = True,
) -> Response:
    """One version with its files (``files=false``: without); ``selector`` is a number,
    ``latest`` or ``@alias``. A blocked version's files are refused (409 ``version_blocked``)
    unless ``Cairn-Override``."""
    ref = version_ref(namespace, model, selector)
    found = await gated(svc, svc.versions.get, actor, ref, with_files=files, override=override)
    return ok(Version.of(found))


@router.patch(VERSION, response_model=Version)
def update_version(
    svc: Svc,
    actor: Writer,
    namespace: NamespaceName,
    model: ModelName,
    selector: Selector,
    body: Annotated[VersionChanges, Refused(InvalidMetadata)],
) -> Response:
    """Change a version's description."""
    ref = version_ref(namespace, model, selector)
    return ok(Version.of(svc.versions.update(actor, ref, {"description": body.description})))


@router.delete(VERSION, status_code=204)
def delete_version(
    svc: Svc, actor: Admin, namespace: NamespaceName, model: ModelName, selector: Selector
) -> Response:
    svc.versions.delete(actor, version_ref(namespace, model, selector))
    return Response(status_code=204)


@router.get(VERSION + "/validations", response_model=Items[Validation])
async def list_validations(
    svc: Svc, actor: Reader, namespace: NamespaceName, model: ModelName, selector: Selector
) -> Response:
    """Every validation of the version (signature, scan, …), oldest first."""
    ref = version_ref(namespace, model, selector)
    found = await reading(svc, svc.versions.validations, actor, ref)
    return ok(Items[Validation](items=[Validation.of(c) for c in found]))


@router.put(VERSION + "/tags/{key:path}", status_code=204)
def set_version_tag(
    svc: Svc,
    actor: Writer,
    namespace: NamespaceName,
    model: ModelName,
    selector: Selector,
    key: str,
    body: TagValue,
) -> Response:
    """Set a tag on the version (``key`` may contain slashes)."""
    svc.versions.set_tag(actor, version_ref(namespace, model, selector), key, body.value)
    return Response(status_code=204)


@router.delete(VERSION + "/tags/{key:path}", status_code=204)
def delete_version_tag(
    svc: Svc,
    actor: Writer,
    namespace: NamespaceName,
    model: ModelName,
    selector: Selector,
    key: str,
) -> Response:
    svc.versions.delete_tag(actor, version_ref(namespace, model, selector), key)
    return Response(status_code=204)


@router.get("/resolve", response_model=Version, responses={404: {}, 409: {}})
async def resolve(
    svc: Svc, actor: Reader, override: Override, ref: str, files: bool = True
) -> Response:
    """The version a reference (``ns/name:N``, ``ns/name@alias``, ``ns/name:latest``) names;
    with its files, refused for a blocked version unless ``Cairn-Override``."""
    parsed = parse_reference(ref)
    found = await gated(svc, svc.versions.get, actor, parsed, with_files=files, override=override)
    return ok(Version.of(found))


@router.get("/versions", response_model=Page[Version])
async def search_versions(
    svc: Svc,
    actor: Reader,
    filter: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Response:
    """Versions across every model, newest first, matching a filter (see the README)."""
    page = await reading(svc, svc.versions.search, actor, filter, cursor, limit)
    return ok(version_page(page))
