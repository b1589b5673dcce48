"""``cairn gc [--dry-run] [--grace-hours H]``: blob garbage collection (global admins)."""

from __future__ import annotations

import click

from cairn.cli.context import client, wants_json
from cairn.cli.output import emit_json, fails_cleanly, human_size, short, table, table_time
from cairn.client.gc import collect_garbage


@click.command()
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@click.option(
    "--grace-hours",
    type=click.FloatRange(min=0),
    default=None,
    help="Spare blobs uploaded within this many hours (default: the server's "
    "CAIRN_GC_GRACE_HOURS, 24 unless set).",
)
@click.pass_context
@fails_cleanly
def gc(ctx: click.Context, dry_run: bool, grace_hours: float | None) -> None:
    """Delete blobs that no version names and that are older than the grace period: rows
    left by deleted versions or never-registered uploads, and bytes left without a row."""
    with client(ctx, progress=False) as cairn:
        report = collect_garbage(cairn.http, dry_run=dry_run, grace_hours=grace_hours)
    if wants_json(ctx):
        emit_json(report)
        return
    rows = [
        (kind, short(b.digest), human_size(b.size))
        for kind, blobs in (("unreferenced", report.unreferenced), ("orphaned", report.orphaned))
        for b in blobs
    ]
    if rows:
        table(None, ["kind", "digest", "size"], rows)
    verb = "would delete" if report.dry_run else "deleted"
    click.echo(
        f"{verb} {report.deleted} blobs, {human_size(report.bytes)} "
        f"(uploaded before {table_time(report.cutoff)}Z)"
    )
