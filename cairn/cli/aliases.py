"""``cairn alias set|rm|history``."""

from __future__ import annotations

import click

from cairn.cli.context import client, wants_json
from cairn.cli.output import emit_json, fails_cleanly, table


@click.group()
def alias() -> None:
    """Move, remove and trace a model's aliases."""


@alias.command(name="set")
@click.argument("model")
@click.argument("name")
@click.argument("version", type=click.IntRange(min=1))
@click.pass_context
@fails_cleanly
def set_(ctx: click.Context, model: str, name: str, version: int) -> None:
    """Point alias NAME of MODEL at VERSION: cairn alias set risk/fraud production 7."""
    with client(ctx, progress=False) as cairn:
        found = cairn.set_alias(model, name, version)
    if wants_json(ctx):
        emit_json(found)
    else:
        click.echo(f"{model}@{name} -> {found['ref']}")


@alias.command(name="rm")
@click.argument("model")
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
@click.argument("model")
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
            (e["at"][:23], "@" + e["alias"], e["action"], e["previous"], e["version"], e["actor"])
            for e in events
        ),
    )
