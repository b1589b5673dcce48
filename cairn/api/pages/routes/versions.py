"""A version's page: what the registry knows of one version (its files a page at a time, its
provenance, results, governance, deployments and audit trail)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from cairn.api.deps import Svc
from cairn.api.pages.markdown import render_markdown
from cairn.api.pages.render import page
from cairn.api.pages.session import Looking
from cairn.api.routes.versions import version_ref
from cairn.domain.manifest import FileEntry
from cairn.domain.records import Page, Validation, Version
from cairn.domain.references import Reference, parse_reference
from cairn.errors import InvalidReference, VersionBlocked
from cairn.services.auth import Actor
from cairn.services.container import Services

router = APIRouter(include_in_schema=False)
FILES_SHOWN = 100
AUDIT_SHOWN = 20
SHOWN = 50  # validations, decisions, deployments: the newest
DECISIONS = ("version.promote", "version.promote.denied", "approval.request")


@router.get("/models/{namespace}/{model}/versions/{selector}", name="version_page")
def version_page(
    request: Request,
    svc: Svc,
    viewer: Looking,
    namespace: str,
    model: str,
    selector: str,
    files: str | None = None,
) -> HTMLResponse:
    ref = version_ref(namespace, model, selector)
    return page(request, "version.html", viewer, **dossier(svc, viewer.actor, ref, files))


@dataclass(frozen=True, slots=True)
class Files:
    """A page of a version's files, or why they are withheld (a blocked version)."""

    page: Page[FileEntry] | None
    blocked: str | None = None


def version_url(namespace: str, model: str, selector: str | int) -> str:
    parts = (namespace, model, str(selector))
    return "/models/{}/{}/versions/{}".format(*(quote(p, safe="@") for p in parts))


def exact(version: Version) -> Reference:
    return Reference(version.namespace, version.model, number=version.number)


def files_of(svc: Services, actor: Actor, ref: Reference, cursor: str | None, limit: int) -> Files:
    try:
        return Files(svc.versions.files(actor, ref, cursor, limit))
    except VersionBlocked as blocked:
        return Files(None, blocked.message)


def card_of(svc: Services, actor: Actor, ref: Reference) -> Markup | None:
    """The version's own model card, rendered (None: it has none, or its files are withheld)."""
    try:
        text = svc.versions.card(actor, ref)
    except VersionBlocked:
        return None
    return None if text is None else render_markdown(text)


def dossier(svc: Services, actor: Actor, ref: Reference, cursor: str | None) -> dict[str, Any]:
    version = svc.versions.get(actor, ref, with_files=False)
    one = exact(version)
    history = svc.versions.validations(actor, one)[::-1]  # newest first
    return {
        "version": version,
        "url": version_url(version.namespace, version.model, version.number),
        "cursor": cursor,
        "files": files_of(svc, actor, one, cursor, FILES_SHOWN),
        "card": card_of(svc, actor, one),
        "parents": parents(version.provenance),
        "validations": history[:SHOWN],
        "signature": newest(history, "signature"),
        "scan": newest(history, "scan"),
        "requests": svc.lifecycle.version_requests(actor, one),
        "decisions": svc.audit.version_entries(actor, one, actions=DECISIONS, limit=SHOWN),
        "deployments": svc.deployments.find(actor, one.namespace, ref=one)[:SHOWN],
        "audit": svc.audit.version_entries(actor, one, limit=AUDIT_SHOWN),
        "shown": SHOWN,
    }


def newest(history: list[Validation], name: str) -> Validation | None:
    return next((v for v in history if v.name == name), None)


def parents(provenance: dict[str, Any]) -> list[dict[str, str | None]]:
    """The declared parents, each with a link to its page when it is a reference."""
    found: list[dict[str, str | None]] = []
    for parent in provenance.get("parents") or []:
        raw = str(parent.get("ref", ""))
        try:
            ref = parse_reference(raw)
        except InvalidReference:
            href = None
        else:
            selector = ref.number or (f"@{ref.alias}" if ref.alias else "latest")
            href = version_url(ref.namespace, ref.model, selector)
        found.append({"ref": raw, "relation": parent.get("relation"), "href": href})
    return found
