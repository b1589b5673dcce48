"""``cairn alias set|rm|history|at``."""

from __future__ import annotations

from datetime import datetime

import click

from cairn.cli.completion import complete_reference
from cairn.cli.context import client, wants_json
from cairn.cli.output import emit_json, fails_cleanly, moment, table


@click.group()
def alias() -> None:
    """Move, remove and trace a model's aliases."""


@alias.command(name="set")
@click.argument("model", shell_complete=complete_reference)
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
@click.option(
    "--override",
    default=None,
    metavar="REASON",
    help="Point it at a blocked version anyway (an admin of the namespace; audited).",
)
@click.pass_context
@fails_cleanly
def set_(ctx: click.Context, model: str, name: str, version: int, override: str | None) -> None:
    """Point alias NAME of MODEL at VERSION: cairn alias set risk/fraud production 7. A
    version blocked by a failed check is refused (exit 6) unless --override."""
    with client(ctx, progress=False) as cairn:
        found = cairn.set_alias(model, name, version, override=override)
    if wants_json(ctx):
        emit_json(found)
    else:
        click.echo(f"{model}@{name} -> {found.ref}")


@alias.command(name="rm")
@click.argument("model", shell_complete=complete_reference)
@click.argument("name")
@click.pass_context
@fails_cleanly
def remove(ctx: click.Context, model: str, name: str) -> None:
    """Remove alias NAME from MODEL."""
    with client(ctx, progress=False) as cairn:
        cairn.delete_alias(model, name)
    if not wants_json(ctx):
        click.echo(f"{model}@{name} removed")


@alias.command()
@click.argument("model", shell_complete=complete_reference)
@click.argument("name", required=False)
@click.pass_context
@fails_cleanly
def history(ctx: click.Context, model: str, name: str | None) -> None:
    """Every move of MODEL's aliases (or of alias NAME): when, by whom, from and to."""
    with client(ctx, progress=False) as cairn:
        events = cairn.alias_history(model, name)
    if wants_json(ctx):
        emit_json(events)
        return
    table(
        f"{model} alias history",
        ["at", "alias", "action", "from", "to", "actor"],
        (
            (moment(e.at)[:23], "@" + e.alias, e.action, e.previous, e.version, e.actor)
            for e in events
        ),
    )


@alias.command()
@click.argument("model", shell_complete=complete_reference)
@click.argument("name")
@click.argument("time", metavar="TIME")
@click.pass_context
@fails_cleanly
def at(ctx: click.Context, model: str, name: str, time: str) -> None:
    """The version alias NAME of MODEL named at TIME (ISO 8601 with a zone, e.g.
    2026-03-03T14:00:00Z): cairn alias at risk/fraud production 2026-03-03T14:00Z."""
    try:
        when = datetime.fromisoformat(time)
    except ValueError as exc:
        raise click.BadParameter("a time is ISO 8601, e.g. 2026-03-03T14:00:00Z") from exc
    if when.tzinfo is None:
        raise click.BadParameter("give the time with its zone, e.g. 2026-03-03T14:00:00Z")
    with client(ctx, progress=False) as cairn:
        found = cairn.alias_at(model, name, when)
    if wants_json(ctx):
        emit_json(found)
    else:
        click.echo(f"{model}@{name} at {when.isoformat()}: {found.ref}")
