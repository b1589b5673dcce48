"""A policy's decision as the CLI tells it: each check, what is missing, and the exit status
of an answer that is not "allowed"."""

from __future__ import annotations

import sys

import click

from cairn.cli.exits import DENIED, WAITING
from cairn.wire.promotions import Decision


def show_decision(decision: Decision) -> None:
    for check in decision.checks:
        mark = "ok  " if check.passed else "FAIL"
        click.echo(f"  {mark} {check.check}: {check.reason}")


def exit_for(decision: Decision, *, as_json: bool) -> None:
    """A decision that is not "allowed" ends the command with its own exit status (8 denied,
    9 waiting for approvals), saying on stderr what is missing, so a CI step can tell."""
    if decision.outcome == "allowed":
        return
    if not as_json:
        click.echo(missing(decision), err=True)
    sys.exit(DENIED if decision.outcome == "denied" else WAITING)


def missing(decision: Decision) -> str:
    """What stands between the version and its target, in one line."""
    wanted = decision.approvals_required - decision.approvals_counted
    approvals = (
        f"{wanted} more approval{'s' if wanted != 1 else ''} "
        f"({decision.approvals_counted} of {decision.approvals_required})"
    )
    if decision.outcome == "needs_approval":
        return f"waiting for {approvals}"
    failed = [c for c in decision.checks if not c.passed]
    return "denied: " + "; ".join(f"{c.check}: {c.reason}" for c in failed)
