"""What the CLI's exit status means, and how a failure is told: one line on stderr for people,
or with ``--json`` the server's error body, ``{"error": {"code", "message", "details"}}``, on
stdout. The table below is the one place the codes are written: the top help text is made
from it and a test holds the README's table to it."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click
import httpx

from cairn import errors

OK = 0
ERROR = 1
BAD_INPUT = 2
NOT_FOUND = 3
CONFLICT = 4
PERMISSION_DENIED = 5
INTEGRITY = 6
UNREACHABLE = 7
DENIED = 8
WAITING = 9

# Every exit status and what it means, in the order the help text and the README list them.
EXIT_MEANINGS: list[tuple[int, str]] = [
    (OK, "ok"),
    (ERROR, "another error"),
    (BAD_INPUT, "bad input: a usage error (usage_error), an invalid_* code, empty_token"),
    (NOT_FOUND, "not found"),
    (CONFLICT, "conflict"),
    (PERMISSION_DENIED, "permission denied, or not signed in"),
    (INTEGRITY, "integrity: a digest or a required signature fails, or a check blocks it"),
    (UNREACHABLE, "server unreachable or failing"),
    (DENIED, "the policy denies it: a promotion, promote --check, policy test"),
    (WAITING, "the promotion waits for approvals, or would: promote --check, policy test"),
]

# The exit status of each error class; the first class that matches wins.
EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (errors.NotFound, NOT_FOUND),
    (errors.VersionBlocked, INTEGRITY),  # a failed check, like a digest that does not match
    (errors.PolicyViolation, DENIED),
    (errors.SignatureRejected, INTEGRITY),  # before InvalidInput, whose kind it is
    (errors.Conflict, CONFLICT),
    (errors.PermissionDenied, PERMISSION_DENIED),
    (errors.IntegrityError, INTEGRITY),
    (errors.InvalidInput, BAD_INPUT),
    (errors.ServerError, UNREACHABLE),
    (httpx.TransportError, UNREACHABLE),
    (errors.CairnError, ERROR),
]

USAGE_ERROR = "usage_error"
UNREACHABLE_CODE = "server_unreachable"


def help_text() -> str:
    """The exit codes as the top help text gives them, one per line."""
    return "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_MEANINGS)


def exit_code(exc: BaseException) -> int:
    return next((c for cls, c in EXIT_CODES if isinstance(exc, cls)), ERROR)


def fail(exc: errors.CairnError | httpx.TransportError, *, as_json: bool) -> NoReturn:
    """Tell a Cairn or connection error and exit with its documented status."""
    if isinstance(exc, errors.CairnError):
        code, message, details = exc.code, exc.message, dict(exc.details)
    else:
        code, message = UNREACHABLE_CODE, str(exc) or type(exc).__name__
        details = {"kind": type(exc).__name__}
    if as_json:
        error_json(code, message, details)
    else:
        label = code if isinstance(exc, errors.CairnError) else type(exc).__name__
        # click, not rich: a long message stays one line in a log; the colour only on a terminal
        click.echo(f"{click.style('error', fg='red')} ({label}): {message}", err=True)
    sys.exit(exit_code(exc))


def error_json(code: str, message: str, details: dict[str, Any]) -> None:
    """The server's one error shape, on stdout, for a script that asked for JSON."""
    body = {"error": {"code": code, "message": message, "details": details}}
    click.echo(json.dumps(body, indent=2, sort_keys=True, default=str))


def fail_usage(exc: click.ClickException, *, as_json: bool) -> int:
    """A usage error (exit 2), or another error click found (a file it cannot open: exit 1),
    told as click tells it, or as an error body under ``--json``; its status is returned."""
    if not as_json:
        exc.show()
        return exc.exit_code
    details: dict[str, Any] = {}
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        details["usage"] = exc.ctx.get_usage()
    param = getattr(exc, "param", None)
    if param is not None and param.name:
        details["param"] = param.name
    code = USAGE_ERROR if isinstance(exc, click.UsageError) else "cli_error"
    error_json(code, exc.format_message(), details)
    return exc.exit_code
