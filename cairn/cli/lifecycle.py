"""``cairn promote|archive|validate|validations|approvals|approve|reject|policy|deploy|deployments|
rollback``: the governed lifecycle from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cairn.cli.completion import complete_reference
from cairn.cli.context import client, wants_json
from cairn.cli.decisions import exit_for, show_decision
from cairn.cli.output import emit_json, fails_cleanly, key_values, table, table_time
from cairn.domain.jsonsafe import strict_loads
from cairn.domain.references import parse_reference

POLICY_FILE_MAX = 4 << 20  # the server's default cap on a JSON body


@click.command()
@click.argument("ref", shell_complete=complete_reference)
@click.argument("state", type=click.Choice(["staging", "production", "archived"]))
@click.option("--reason", default="", help="Why; goes to the audit log.")
@click.option("--check", is_flag=True, help="Explain the policy's decision; change nothing.")
@click.pass_context
@fails_cleanly
def promote(ctx: click.Context, ref: str, state: str, reason: str, check: bool) -> None:
    """Promote the version REF to STATE through the policy's gates. Exit 8 if the policy
    denies it, 9 if it waits for approvals (with --check: if it would), saying what is
    missing."""
    with client(ctx, progress=False) as cairn:
        done = cairn.promote(ref, state, reason=reason, check=check)
    decision = done.decision
    if wants_json(ctx):
        emit_json(done)
    elif done.applied:
        click.echo(f"{done.version.ref} is now {state}")
    elif done.request:
        request = done.request
        click.echo(
            f"{done.version.ref} -> {state} waits for approvals: request {request.id} "
            f"({decision.approvals_counted} of {decision.approvals_required})"
        )
    else:
        click.echo(f"{done.version.ref} -> {state}: {decision.outcome}")
    if not wants_json(ctx):
        show_decision(decision)
    if not done.applied:
        exit_for(decision, as_json=wants_json(ctx))


@click.command()
@click.argument("ref", shell_complete=complete_reference)
@click.option("--reason", default="", help="Why; goes to the audit log.")
@click.pass_context
@fails_cleanly
def archive(ctx: click.Context, ref: str, reason: str) -> None:
    """Archive the version REF: out of every alias and of deployment; its bytes stay."""
    with client(ctx, progress=False) as cairn:
        done = cairn.archive(ref, reason=reason)
    if wants_json(ctx):
        emit_json(done)
    else:
        click.echo(f"{done.version.ref} archived")


@click.command()
@click.argument("ref", shell_complete=complete_reference)
@click.argument("name")
@click.argument(
    "status", type=click.Choice(["passed", "failed", "error", "pending", "running", "skipped"])
)
@click.option("--metric", "metrics", multiple=True, help="key=number (repeatable).")
@click.option("--link", default=None, help="Where the run can be seen.")
@click.pass_context
@fails_cleanly
def validate(
    ctx: click.Context, ref: str, name: str, status: str, metrics: tuple[str, ...], link: str | None
) -> None:
    """Record a validation result for the version REF (from CI or a validator)."""
    values = {k: float(v) for k, v in key_values(metrics, "--metric").items()}
    with client(ctx, progress=False) as cairn:
        added = cairn.validate(ref, name, status, metrics=values, link=link)
    if wants_json(ctx):
        emit_json(added)
    else:
        click.echo(f"{ref}: {name} {status} (posted by {added.created_by})")


@click.command()
@click.argument("ref", shell_complete=complete_reference)
@click.pass_context
@fails_cleanly
def validations(ctx: click.Context, ref: str) -> None:
    """Every validation result of the version REF, oldest first, with who posted it."""
    with client(ctx, progress=False) as cairn:
        found = cairn.validations(ref)
    if wants_json(ctx):
        emit_json(found)
        return
    table(
        None,
        ["at", "name", "status", "posted by"],
        ([table_time(v.created_at), v.name, v.status, v.created_by] for v in found),
    )


@click.command()
@click.argument("namespace", default="default")
@click.option("--all", "everything", is_flag=True, help="Closed requests too.")
@click.pass_context
@fails_cleanly
def approvals(ctx: click.Context, namespace: str, everything: bool) -> None:
    """Approval requests of NAMESPACE (open ones unless --all)."""
    with client(ctx, progress=False) as cairn:
        found = cairn.approvals(namespace, None if everything else "open")
    if wants_json(ctx):
        emit_json(found)
        return
    table(
        None,
        ["id", "version", "to", "status", "requested by", "approved by", "expires"],
        (
            [
                r.id,
                r.ref,
                r.target,
                r.status,
                r.requested_by,
                ", ".join(a.approver for a in r.approvals if a.decision == "approve"),
                table_time(r.expires_at),
            ]
            for r in found
        ),
    )


def _review(ctx: click.Context, request_id: int, comment: str, verdict: str) -> None:
    with client(ctx, progress=False) as cairn:
        done = (cairn.approve if verdict == "approve" else cairn.reject)(request_id, comment)
    if wants_json(ctx):
        emit_json(done)
        return
    request = done.request
    click.echo(f"request {request.id} ({request.ref} -> {request.target}): {request.status}")
    if done.promotion:
        click.echo(f"{done.promotion.version.ref} is now {request.target}")


@click.command()
@click.argument("request_id", type=int)
@click.option("--comment", default="", help="Goes to the audit log.")
@click.pass_context
@fails_cleanly
def approve(ctx: click.Context, request_id: int, comment: str) -> None:
    """Approve an approval request; the promotion completes when the policy holds."""
    _review(ctx, request_id, comment, "approve")


@click.command()
@click.argument("request_id", type=int)
@click.option("--comment", default="", help="Goes to the audit log.")
@click.pass_context
@fails_cleanly
def reject(ctx: click.Context, request_id: int, comment: str) -> None:
    """Reject an approval request; it closes."""
    _review(ctx, request_id, comment, "reject")


@click.group()
def policy() -> None:
    """Policies as code: show, set and test them (SCOPE is NS or NS/MODEL)."""


@policy.command(name="show")
@click.argument("scope", shell_complete=complete_reference)
@click.pass_context
@fails_cleanly
def show_policy(ctx: click.Context, scope: str) -> None:
    """The policy in force for SCOPE (a model's override, its namespace's, or the default)."""
    with client(ctx, progress=False) as cairn:
        found = cairn.policy(scope)
    if wants_json(ctx):
        emit_json(found)
        return
    origin = "the default" if found.default else f"revision {found.revision}"
    click.echo(f"# {scope}: {origin}")
    click.echo(json.dumps(found.document, indent=2, sort_keys=True))


@policy.command(name="set")
@click.argument("scope", shell_complete=complete_reference)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
@fails_cleanly
def set_policy(ctx: click.Context, scope: str, file: Path) -> None:
    """Store FILE (JSON) as a new revision of SCOPE's policy."""
    with client(ctx, progress=False) as cairn:
        stored = cairn.set_policy(scope, _policy_file(file))
    if wants_json(ctx):
        emit_json(stored)
    else:
        click.echo(f"{scope}: policy revision {stored.revision}")


@policy.command(name="test")
@click.argument("ref", shell_complete=complete_reference)
@click.argument("state", type=click.Choice(["staging", "production", "archived"]))
@click.option(
    "--file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A policy not yet stored (JSON); default: the policy in force.",
)
@click.pass_context
@fails_cleanly
def test_policy(ctx: click.Context, ref: str, state: str, file: Path | None) -> None:
    """What a policy decides for promoting REF to STATE, check by check. Exit 8 if it would
    deny it, 9 if it would wait for approvals."""
    with client(ctx, progress=False) as cairn:
        if file is None:
            decision = cairn.promote(ref, state, check=True).decision
        else:
            decision = cairn.test_policy(ref, state, _policy_file(file))
    if wants_json(ctx):
        emit_json(decision)
    else:
        click.echo(f"{ref} -> {state}: {decision.outcome}")
        show_decision(decision)
    exit_for(decision, as_json=wants_json(ctx))


@click.group()
def deploy() -> None:
    """Record what was rolled out where."""


@deploy.command(name="record")
@click.argument("ref", shell_complete=complete_reference)
@click.option("--target", required=True, help="Where it runs, e.g. prod-eu.")
@click.option("--strategy", type=click.Choice(["full", "canary", "ab", "shadow"]), default="full")
@click.option("--weight", type=click.FloatRange(0, 100), default=100.0, help="Traffic, %.")
@click.option("--outcome", type=click.Choice(["started", "succeeded", "failed"]), default="started")
@click.option("--load-time-ms", type=click.FloatRange(min=0), default=None)
@click.option("--alias", default=None, help="The alias this rollout follows.")
@click.option(
    "--override",
    default=None,
    metavar="REASON",
    help="Record a rollout the gates refuse anyway (an admin of the namespace; audited).",
)
@click.pass_context
@fails_cleanly
def record(
    ctx: click.Context,
    ref: str,
    target: str,
    strategy: str,
    weight: float,
    outcome: str,
    load_time_ms: float | None,
    alias: str | None,
    override: str | None,
) -> None:
    """Record that the version REF was rolled out to a target. A rollout of a version blocked
    by a failed check, or of one not in production on a production target (see the policy's
    deployments), is refused (exit 6) unless --override."""
    with client(ctx, progress=False) as cairn:
        done = cairn.record_deployment(
            ref,
            target,
            strategy=strategy,
            weight=weight,
            outcome=outcome,
            load_time_ms=load_time_ms,
            alias=alias,
            override=override,
        )
    if wants_json(ctx):
        emit_json(done)
    else:
        click.echo(f"{done.ref} on {target}: {strategy} {weight:g}% {outcome}")


@click.command()
@click.argument("ref", shell_complete=complete_reference, required=False)
@click.option("--target", default=None, help="Only this target.")
@click.option("--namespace", default="default", show_default=True)
@click.pass_context
@fails_cleanly
def deployments(ctx: click.Context, ref: str | None, target: str | None, namespace: str) -> None:
    """What runs where, with which weights (of a version, a model, or a namespace)."""
    if ref is not None:
        namespace = parse_reference(ref).namespace
    with client(ctx, progress=False) as cairn:
        found = cairn.deployments(namespace, ref=ref, target=target)
    if wants_json(ctx):
        emit_json(found)
        return
    table(
        None,
        ["at", "version", "target", "strategy", "weight", "outcome", "load ms", "by"],
        (
            [
                table_time(d.at),
                d.ref,
                d.target,
                d.strategy,
                f"{d.weight:g}%",
                d.outcome,
                "" if d.load_time_ms is None else f"{d.load_time_ms:g}",
                d.recorded_by,
            ]
            for d in found
        ),
    )


@click.command()
@click.argument("ref", shell_complete=complete_reference, metavar="MODEL@ALIAS")
@click.option("--to", type=click.IntRange(min=1), default=None, help="This version number.")
@click.pass_context
@fails_cleanly
def rollback(ctx: click.Context, ref: str, to: int | None) -> None:
    """Move ALIAS back to the previous eligible version (or --to N), in one step."""
    with client(ctx, progress=False) as cairn:
        done = cairn.rollback(ref, to=to)
    if wants_json(ctx):
        emit_json(done)
        return
    deployment = done.deployment
    since = deployment.time_to_rollback_ms
    click.echo(
        f"{ref} -> {done.version.ref}"
        + (f" ({since / 1000:.1f} s after the failing deployment)" if since is not None else "")
    )


@click.group()
def retention() -> None:
    """Apply a namespace's retention rules (set in its policy)."""


@retention.command(name="apply")
@click.argument("namespace")
@click.option("--dry-run", is_flag=True, help="List what a round would do; change nothing.")
@click.pass_context
@fails_cleanly
def apply_retention(ctx: click.Context, namespace: str, dry_run: bool) -> None:
    """Archive old versions as the policy's retention rules say; where it opts in to deletion,
    plan deletions, and carry out those planned at least the grace period before."""
    with client(ctx, progress=False) as cairn:
        done = cairn.apply_retention(namespace, dry_run=dry_run)
    if wants_json(ctx):
        emit_json(done)
        return
    verbs = _DRY_VERBS if dry_run else _VERBS
    for action in done.actions:
        verb = verbs.get(action.action, action.action)
        click.echo(f"{verb} {action.ref}: {action.reason}")
    if not done.actions:
        click.echo("nothing to do")


_VERBS = {
    "archive": "archived",
    "plan": "planned the deletion of",
    "delete": "deleted",
    "unplan": "no longer deletes",
}
_DRY_VERBS = {
    "archive": "would archive",
    "plan": "would plan the deletion of",
    "delete": "would delete",
    "unplan": "would no longer delete",
}


COMMANDS = [
    retention,
    promote,
    archive,
    validate,
    validations,
    approvals,
    approve,
    reject,
    policy,
    deploy,
    deployments,
    rollback,
]


def _policy_file(file: Path) -> Any:
    # The server's strict reader, here too: the file's duplicate keys would otherwise be
    # dropped silently before the server could refuse them.
    return strict_loads(file.read_bytes(), max_bytes=POLICY_FILE_MAX)
