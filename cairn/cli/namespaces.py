"""``cairn namespace create|ls``."""

from __future__ import annotations

import click

from cairn.cli.context import client, wants_json
from cairn.cli.output import emit_json, fails_cleanly, table


@click.group()
def namespace() -> None:
    """Create and list namespaces."""


@namespace.command()
@click.argument("name")
@click.option("--description", default="", help="What the namespace is for.")
@click.pass_context
@fails_cleanly
def create(ctx: click.Context, name: str, description: str) -> None:
    """Create the namespace NAME."""
    with client(ctx, progress=False) as cairn:
        created = cairn.create_namespace(name, description)
    if wants_json(ctx):
        emit_json(created)
    else:
        click.echo(f"namespace {created['name']} created")


@namespace.command(name="ls")
@click.pass_context
@fails_cleanly
def list_(ctx: click.Context) -> None:
    """List the namespaces you can read."""
    with client(ctx, progress=False) as cairn:
        found = cairn.namespaces()
    if wants_json(ctx):
        emit_json(found)
        return
    table(
        None,
        ["namespace", "description", "created"],
        ((ns["name"], ns["description"], ns["created_at"][:19]) for ns in found),
    )
