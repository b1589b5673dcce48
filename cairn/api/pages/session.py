"""Who is looking at a page: the session cookie's actor (``services.sessions``), or anonymous
where ``CAIRN_ANONYMOUS_READ`` lets anyone read; and the body of a form, CSRF-checked.

The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it),
Secure when the page came over HTTPS, and scoped to the whole site. A form carries the
session's CSRF token in a hidden ``csrf`` field; a POST without the right one is refused
before anything is read from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request, Response

from cairn.api.deps import anonymous, capped_body, request_id_of
from cairn.errors import InvalidInput, PermissionDenied, Unauthenticated
from cairn.services.auth import Actor, Permission
from cairn.services.container import Services
from cairn.services.sessions import csrf_matches, csrf_token

COOKIE = "cairn_session"
FORM_MAX_BYTES = 64 * 1024
FORM_MAX_FIELDS = 50


@dataclass(frozen=True, slots=True)
class Viewer:
    """The actor a page is drawn for, and the session's secret (None: not signed in)."""

    actor: Actor
    secret: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.secret is not None

    @property
    def csrf(self) -> str:
        return csrf_token(self.secret) if self.secret else ""

    def may(self, permission: str, namespace: str | None) -> bool:
        """Whether to offer an action: the services decide again when it is taken."""
        return self.actor.may(Permission(permission), namespace)


def viewer(request: Request) -> Viewer:
    svc: Services = request.app.state.services
    request_id = request_id_of(request)
    secret = request.cookies.get(COOKIE)
    if secret:
        return Viewer(svc.sessions.actor(secret, request_id), secret)
    if svc.settings.anonymous_read:
        return Viewer(anonymous(svc, request_id))
    raise Unauthenticated("sign in to see this page")


def signed_in_viewer(request: Request) -> Viewer:
    """A page that acts (a form's target) needs a session, whatever anonymous users may read."""
    seen = viewer(request)
    if not seen.signed_in:
        raise Unauthenticated("sign in to do this")
    return seen


Looking = Annotated[Viewer, Depends(viewer)]
Acting = Annotated[Viewer, Depends(signed_in_viewer)]


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a form (``application/x-www-form-urlencoded``), each named once."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidInput("send the form as application/x-www-form-urlencoded")
    body = await capped_body(request, FORM_MAX_BYTES, "the form")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=FORM_MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("the form is not well-formed") from exc
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InvalidInput("the form names a field twice")
    return fields


async def posted(request: Request) -> dict[str, str]:
    """The fields of a form the signed-in viewer sent from one of this server's pages."""
    fields = await form_fields(request)
    secret = request.cookies.get(COOKIE) or ""
    if not secret or not csrf_matches(secret, fields.pop("csrf", "")):
        raise PermissionDenied("the form did not come from your session's page; reload it")
    return fields


Form = Annotated[dict[str, str], Depends(posted)]
FormFields = Annotated[dict[str, str], Depends(form_fields)]


def set_session_cookie(response: Response, request: Request, secret: str, max_age: int) -> None:
    set_strict_cookie(response, request, COOKIE, secret, max_age, "/")


def set_strict_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int, path: str
) -> None:
    """A cookie no script reads, no other site's page sends, and (over HTTPS) no plain HTTP
    request carries."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, secure=request.url.scheme == "https", samesite="strict"
    )
