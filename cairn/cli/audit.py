"""``cairn audit log [REF]`` and ``cairn audit verify``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from cairn.cli.completion import complete_reference
from cairn.cli.context import client, wants_json
from cairn.cli.output import emit_json, fails_cleanly, table
from cairn.client.records import AuditVerification, RecordsCheck

INTEGRITY_FAILURE = 6


@click.group()
def audit() -> None:
    """Read and verify the tamper-evident audit log."""


@audit.command(name="log")
@click.argument("ref", shell_complete=complete_reference, required=False)
@click.option("--actor", default=None, help="Only entries by this principal.")
@click.option("--action", default=None, help="Only this action, e.g. alias.set.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option(
    "--namespace",
    default=None,
    help="Only the namespace's slice of the log (for whoever may read the namespace).",
)
@click.pass_context
@fails_cleanly
def log(
    ctx: click.Context,
    ref: str | None,
    actor: str | None,
    action: str | None,
    limit: int,
    namespace: str | None,
) -> None:
    """Entries, oldest first; REF (e.g. risk/fraud) keeps those about it. The whole log is
    for global admins; --namespace reads one namespace's slice."""
    with client(ctx, progress=False) as cairn:
        found = cairn.audit_entries(
            ref, actor=actor, action=action, limit=limit, namespace=namespace
        )
    if wants_json(ctx):
        emit_json(found)
        return
    table(
        None,
        ["#", "at", "actor", "action", "subject", "details"],
        (
            [
                e.index,
                e.at,
                e.actor,
                e.action,
                e.subject,
                ", ".join(f"{k}={v}" for k, v in sorted(e.payload.items())),
            ]
            for e in found
        ),
    )


@audit.command()
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the trusted checkpoint is kept (default: your config folder).",
)
@click.option(
    "--records",
    is_flag=True,
    help="Then compare every namespace, model, alias and version the API serves with the "
    "state the log's entries committed to.",
)
@click.option(
    "--key",
    "key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A checkpoint key (PEM public key) to trust, instead of the one remembered.",
)
@click.option(
    "--namespace",
    default=None,
    help="Prove only the namespace's slice: each of its entries is in the signed log.",
)
@click.pass_context
@fails_cleanly
def verify(
    ctx: click.Context,
    state: Path | None,
    records: bool,
    key_file: Path | None,
    namespace: str | None,
) -> None:
    """Recompute the log from its entries, check every signed checkpoint with the key in
    force at its size (trusted through the log's key rotations), and prove the log only grew
    since the checkpoint you trusted last; with --records, find every record edited behind
    Cairn's back. With --namespace, prove each entry of that namespace's slice is in the
    signed log instead (what a reader of the namespace can check). Exit code 6 if anything
    is wrong."""
    if namespace is not None:
        if records or key_file:
            raise click.UsageError("--records and --key check the whole log; leave out --namespace")
        _verify_slice(ctx, namespace, state)
        return
    trusted_key = key_file.read_text(encoding="ascii") if key_file else None
    with client(ctx, progress=False) as cairn:
        result = cairn.verify_audit(state, records=records, trusted_key=trusted_key)
    if wants_json(ctx):
        emit_json(_report(result))
        if not result.ok:
            sys.exit(INTEGRITY_FAILURE)
        return
    if result.ok:
        since = (
            f", and extends the {result.trusted_before} you trusted"
            if result.trusted_before
            else " (first check: this checkpoint is now trusted)"
        )
        click.echo(f"ok: {result.size} entries hash to the signed root {result.root[:16]}{since}")
        keys = f"{len(result.keys)} keys" if len(result.keys) > 1 else "one key"
        click.echo(f"    {result.checkpoints} checkpoints verified, signed by {keys}")
    for problem in result.problems:
        click.echo(f"FAILED: {problem}", err=True)
    if result.records is not None:
        _echo_records(result.records)
    if not result.ok:
        sys.exit(INTEGRITY_FAILURE)


def _verify_slice(ctx: click.Context, namespace: str, state: Path | None) -> None:
    with client(ctx, progress=False) as cairn:
        result = cairn.verify_audit_slice(namespace, state)
    if wants_json(ctx):
        emit_json(
            {
                "ok": result.ok,
                "namespace": result.namespace,
                "entries": result.entries,
                "size": result.size,
                "root": result.root,
                "key_pinned": result.key_pinned,
                "problems": result.problems,
            }
        )
    elif result.ok:
        pinned = "" if result.key_pinned else " (key not pinned: run a full verify once)"
        click.echo(
            f"ok: {result.entries} entries of {namespace} are in the log of {result.size} "
            f"entries signed with root {result.root[:16]}{pinned}"
        )
    for problem in result.problems:
        click.echo(f"FAILED: {problem}", err=True)
    if not result.ok:
        sys.exit(INTEGRITY_FAILURE)


def _echo_records(check: RecordsCheck) -> None:
    for finding in check.forged:
        click.echo(f"FAILED: {finding.describe()}", err=True)
    if not check.forged:
        click.echo(f"ok: {check.checked} records are as the log's entries left them")
    if check.uncovered:
        click.echo(
            f"note: {len(check.uncovered)} records were last changed before entries carried "
            "state digests, so the log says nothing of their state (change them once to cover "
            "them)"
        )
    if check.not_compared:
        click.echo(
            f"note: {len(check.not_compared)} records changed after the verified checkpoint "
            "and were not compared; run the check again"
        )


def _report(result: AuditVerification) -> dict[str, Any]:
    report: dict[str, Any] = {
        "ok": result.ok,
        "size": result.size,
        "root": result.root,
        "trusted_before": result.trusted_before,
        "checkpoints": result.checkpoints,
        "keys": result.keys,
        "problems": result.problems,
    }
    if result.records is not None:
        check = result.records
        report["records"] = {
            "checked": check.checked,
            "findings": [
                {
                    "record": f.record,
                    "problem": f.problem,
                    "groups": list(f.groups),
                    "entry": f.index,
                    "action": f.action,
                    "since_entry": f.since,
                    "forged": f.forged,
                    "message": f.describe(),
                }
                for f in check.findings
            ],
            "not_compared": check.not_compared,
        }
    return report


@audit.command(name="rotate-key")
@click.pass_context
@fails_cleanly
def rotate_key(ctx: click.Context) -> None:
    """Replace the key that signs checkpoints (global admins). The old key endorses the new
    one in the log and signs the handover checkpoint; verifiers follow the chain."""
    with client(ctx, progress=False) as cairn:
        rotation = cairn.rotate_audit_key()
    if wants_json(ctx):
        emit_json(rotation)
        return
    click.echo(f"checkpoints are now signed by {rotation.key_id}")
    click.echo(f"  announced at entry {rotation.index}, endorsed by {rotation.previous_key_id}")


@audit.command(name="keys")
@click.pass_context
@fails_cleanly
def keys(ctx: click.Context) -> None:
    """The checkpoint keys, oldest first, with the entry that announced each."""
    with client(ctx, progress=False) as cairn:
        found = cairn.audit_keys()
    if wants_json(ctx):
        emit_json(found)
        return
    table(
        None,
        ["key", "announced at entry", "replaces"],
        (
            [
                k.key_id,
                k.index if k.index is not None else "-",
                k.previous_key_id or "-",
            ]
            for k in found
        ),
    )
