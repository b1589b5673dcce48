"""Signing in with a Cairn token (a session cookie) and signing out.

The sign-in form has no session to tie a CSRF token to yet, so it carries one of its own,
set in a short-lived cookie when the form is drawn (double submit): another site cannot sign
a browser in under the other site's token."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cairn.api.deps import Svc, request_id_of
from cairn.api.pages import PAGE_ROOTS
from cairn.api.pages.render import page
from cairn.api.pages.session import (
    Acting,
    Form,
    FormFields,
    clear_session_cookie,
    set_session_cookie,
    set_strict_cookie,
)
from cairn.errors import PermissionDenied, Unauthenticated

router = APIRouter(include_in_schema=False)
SIGN_IN_COOKIE = "cairn_sign_in"
SIGN_IN_FORM_SECONDS = 3600


@router.get("/sign-in", name="sign_in_page")
def sign_in_page(request: Request, next: str = "/") -> HTMLResponse:
    form_csrf = secrets.token_urlsafe(24)
    answer = page(
        request, "sign_in.html", None, next=safe_next(next), form_csrf=form_csrf, problem=None
    )
    set_strict_cookie(answer, request, SIGN_IN_COOKIE, form_csrf, SIGN_IN_FORM_SECONDS, "/sign-in")
    return answer


@router.post("/sign-in", name="sign_in")
def sign_in(request: Request, svc: Svc, form: FormFields) -> Response:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, form.get("csrf", "")):
        raise PermissionDenied("the sign-in form has expired; reload the page")
    target = safe_next(form.get("next", "/"))
    try:
        opened = svc.sessions.sign_in(form.get("token", ""), request_id_of(request))
    except Unauthenticated as refused:
        again = page(request, "sign_in.html", None, status=401, next=target,
                     form_csrf=expected, problem=refused.message)  # fmt: skip
        return again
    answer = RedirectResponse(target, status_code=303)
    set_session_cookie(answer, request, opened.secret, opened.max_age)
    answer.delete_cookie(SIGN_IN_COOKIE, path="/sign-in")
    return answer


@router.post("/sign-out", name="sign_out")
def sign_out(request: Request, svc: Svc, viewer: Acting, _form: Form) -> Response:
    svc.sessions.sign_out(viewer.secret or "", viewer.actor)
    answer = RedirectResponse("/sign-in", status_code=303)
    clear_session_cookie(answer, request)
    return answer


def safe_next(target: str) -> str:
    """Where to go after signing in: a page of this server, never another site."""
    path = target.split("?", 1)[0]
    if not path.startswith("/") or path.startswith("//") or "\\" in target:
        return "/"
    return target if path.split("/", 2)[1] in PAGE_ROOTS else "/"
