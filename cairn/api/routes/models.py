"""Models, their tags and their aliases."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from cairn.api.bodies import StrictBodyRoute, ok
from cairn.api.deps import Admin, Deployer, Reader, Svc, Writer, reading
from cairn.api.params import AliasName, ModelName, NamespaceName
from cairn.api.routes import API_PREFIX
from cairn.domain.names import check_alias
from cairn.domain.references import model_ref
from cairn.errors import InvalidInput, InvalidMetadata
from cairn.wire.aliases import Aliases, AliasMove, AliasTarget
from cairn.wire.base import Items, Page, Refused
from cairn.wire.models import Model, ModelChanges, NewModel
from cairn.wire.tags import TagValue
from cairn.wire.versions import Version

router = APIRouter(route_class=StrictBodyRoute, prefix=API_PREFIX, tags=["models"])
MODEL = "/models/{namespace}/{model}"
AT = Annotated[
    str | None,
    Query(
        description="A past time (ISO 8601, with its zone): the version the alias named then.",
        examples=["2026-03-03T14:00:00Z"],
    ),
]
# A key neither model body names, or a body that is not an object, is refused as metadata
# (``invalid_metadata``), as the services refuse an unknown model field.
NewModelBody = Annotated[NewModel, Refused(InvalidMetadata)]
ModelChangesBody = Annotated[ModelChanges, Refused(InvalidMetadata)]


@router.get("/models", response_model=Page[Model])
async def list_models(
    svc: Svc,
    actor: Reader,
    namespace: str | None = None,
    filter: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Response:
    """Models, oldest first, optionally in one namespace and matching a filter."""
    page = await reading(svc, svc.models.page, actor, namespace, filter, cursor, limit)
    return ok(Page[Model](items=[Model.of(m) for m in page.items], next_cursor=page.next_cursor))


@router.post("/models/{namespace}", status_code=201, response_model=Model)
def create_model(svc: Svc, actor: Writer, namespace: NamespaceName, body: NewModelBody) -> Response:
    """Create an empty model in the namespace; its versions come by registration."""
    created = svc.models.create(actor, namespace, body.name, body.model_dump(exclude_none=True))
    return ok(Model.of(created), 201)


@router.get(MODEL, response_model=Model)
async def get_model(
    svc: Svc, actor: Reader, namespace: NamespaceName, model: ModelName
) -> Response:
    """The model, with its tags, its aliases and the number of its newest version."""
    return ok(Model.of(await reading(svc, svc.models.get, actor, namespace, model)))


@router.patch(MODEL, response_model=Model)
def update_model(
    svc: Svc, actor: Writer, namespace: NamespaceName, model: ModelName, body: ModelChangesBody
) -> Response:
    """Change a model's description, card or owner, or set some of its tags."""
    changes = body.model_dump(exclude_none=True)
    return ok(Model.of(svc.models.update(actor, namespace, model, changes)))


@router.delete(MODEL, status_code=204)
def delete_model(svc: Svc, actor: Admin, namespace: NamespaceName, model: ModelName) -> Response:
    """Delete a model that has no versions left."""
    svc.models.delete(actor, namespace, model)
    return Response(status_code=204)


@router.put(MODEL + "/tags/{key:path}", status_code=204)
def set_model_tag(
    svc: Svc, actor: Writer, namespace: NamespaceName, model: ModelName, key: str, body: TagValue
) -> Response:
    """Set a tag on the model (``key`` may contain slashes)."""
    svc.models.set_tag(actor, namespace, model, key, body.value)
    return Response(status_code=204)


@router.delete(MODEL + "/tags/{key:path}", status_code=204)
def delete_model_tag(
    svc: Svc, actor: Writer, namespace: NamespaceName, model: ModelName, key: str
) -> Response:
    """Remove a tag from the model (removing one it does not have is not an error)."""
    svc.models.delete_tag(actor, namespace, model, key)
    return Response(status_code=204)


@router.get(MODEL + "/aliases", response_model=Aliases)
async def list_aliases(
    svc: Svc, actor: Reader, namespace: NamespaceName, model: ModelName
) -> Response:
    """Each alias of the model and the number of the version it names."""
    found = await reading(svc, svc.aliases.current, actor, namespace, model)
    return ok(Aliases(aliases=found))


@router.get(MODEL + "/aliases/{alias}", response_model=Version)
async def resolve_alias(
    svc: Svc,
    actor: Reader,
    namespace: NamespaceName,
    model: ModelName,
    alias: AliasName,
    at: AT = None,
) -> Response:
    """The version the alias names now (without its files), or named at the time ``at``."""
    if at is None:
        ref = model_ref(namespace, model, alias=check_alias(alias))
    else:
        when = parse_time(at)
        number = await reading(svc, svc.aliases.at, actor, namespace, model, alias, when)
        ref = model_ref(namespace, model, number=number)
    return ok(Version.of(await reading(svc, svc.versions.get, actor, ref, with_files=False)))


@router.put(MODEL + "/aliases/{alias}", response_model=Version)
def set_alias(
    svc: Svc,
    actor: Deployer,
    namespace: NamespaceName,
    model: ModelName,
    alias: AliasName,
    body: AliasTarget,
) -> Response:
    """Point the alias at a version (creating or moving it); answers that version."""
    found = svc.aliases.set(actor, namespace, model, alias, body.version, body.override)
    return ok(Version.of(found))


@router.delete(MODEL + "/aliases/{alias}", status_code=204)
def delete_alias(
    svc: Svc, actor: Deployer, namespace: NamespaceName, model: ModelName, alias: AliasName
) -> Response:
    """Remove the alias (its history keeps the move)."""
    svc.aliases.delete(actor, namespace, model, alias)
    return Response(status_code=204)


@router.get(MODEL + "/alias-history", response_model=Items[AliasMove])
async def alias_history(
    svc: Svc,
    actor: Reader,
    namespace: NamespaceName,
    model: ModelName,
    alias: str | None = None,
) -> Response:
    """Every move of the model's aliases (or of one), oldest first."""
    events = await reading(svc, svc.aliases.history, actor, namespace, model, alias)
    return ok(Items[AliasMove](items=[AliasMove.of(e) for e in events]))


def parse_time(raw: str) -> datetime:
    try:
        return datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput("a time is ISO 8601, e.g. 2026-03-03T14:00:00Z", value=raw[:60]) from exc
