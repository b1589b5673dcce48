"""A refusal on a page path, drawn as a page: a missing or ended session sends the browser to
the sign-in page (and back afterwards); anything else is an error page with the same status
and code the API would answer."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from cairn.api.errors import Problem
from cairn.api.pages.render import page
from cairn.api.pages.session import COOKIE, clear_session_cookie


def page_error(request: Request, problem: Problem) -> Response:
    if problem.status == 401 and request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        answer: Response = RedirectResponse(f"/sign-in?next={quote(target, safe='')}", 303)
    else:
        answer = page(
            request,
            "error.html",
            None,
            status=problem.status,
            code=problem.code,
            message=problem.message,
        )
    if problem.status == 401 and request.cookies.get(COOKIE):
        clear_session_cookie(answer, request)
    return answer
