"""What ``cairn show`` says of a version's signature and scan: Cairn's own newest results."""

from __future__ import annotations

from collections.abc import Iterable

import click

from cairn.cli.context import client, wants_json
from cairn.cli.output import emit_json, fails_cleanly
from cairn.wire.versions import Validation

CAIRN = "cairn"


def newest_checks(history: Iterable[Validation]) -> dict[str, Validation]:
    """The newest signature and scan results Cairn wrote (posts by others never count)."""
    found: dict[str, Validation] = {}
    for v in history:
        if v.name in ("signature", "scan") and v.created_by == CAIRN:
            found[v.name] = v
    return found


def describe_checks(checks: dict[str, Validation]) -> None:
    signature, scan = checks.get("signature"), checks.get("scan")
    if signature is not None:
        click.echo(f"  signature {_signature(signature)}")
    if scan is not None:
        click.echo(f"  scan      {_scan(scan)}")
        for f in scan.details.get("findings") or []:
            if f.get("severity") in ("blocking", "warning") or f.get("waived"):
                waived = f.get("waived")
                note = f"  WAIVED by {waived['by']}: {waived['reason']}" if waived else ""
                click.echo(
                    f"    {f.get('id')}  {f.get('severity'):<8}  {f.get('file')}: "
                    f"{f.get('message')}{note}"
                )


def _signature(v: Validation) -> str:
    d = v.details
    against = d.get("checked_against") or {}
    keys = ", ".join(against.get("keys") or []) or "none"
    where = f"checked at registration against namespace {against.get('namespace')}'s keys ({keys})"
    if v.status == "verified":
        key = f"key {d['key']} " if d.get("key") else ""
        return f"verified: signed with {key}({d.get('signer')}); {where}"
    if v.status == "failed":
        reason = f"{d['reason']}: " if d.get("reason") else ""
        return f"FAILED: {reason}{d.get('message')}" + (f"; {where}" if against else "")
    return v.status + (f": {d['message']}" if d.get("message") else "")


def _scan(v: Validation) -> str:
    findings = v.details.get("findings") or []
    counts: dict[str, int] = {}
    for f in findings:
        counts[str(f.get("severity"))] = counts.get(str(f.get("severity")), 0) + 1
    waived = sum(1 for f in findings if f.get("waived"))
    told = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return v.status + (f" ({told}" + (f"; {waived} waived" if waived else "") + ")" if told else "")


@click.command()
@click.argument("ref")
@click.argument("finding")
@click.option("--reason", required=True, help="Why this finding does not count (audited).")
@click.pass_context
@fails_cleanly
def waive(ctx: click.Context, ref: str, finding: str, reason: str) -> None:
    """Waive the scan finding FINDING (its id, as cairn show lists it) of the version REF, with
    a reason: an approver who is not the version's author; audited."""
    with client(ctx, progress=False) as cairn:
        scan = cairn.waive(ref, finding, reason)
    if wants_json(ctx):
        emit_json(scan)
        return
    click.echo(f"{ref}: finding {finding} waived; the scan is now {scan.status}")
