"""``cairn namespace create|ls|require-signature`` and ``cairn keys add|list|rm``."""

from __future__ import annotations

from pathlib import Path

import click

from cairn.cli.context import client, wants_json
from cairn.cli.output import emit_json, fails_cleanly, table, table_time


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
        click.echo(f"namespace {created.name} created")


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
        ((ns.name, ns.description, table_time(ns.created_at)) for ns in found),
    )


@namespace.command(name="require-signature")
@click.argument("name")
@click.option("--off", is_flag=True, help="Stop requiring signatures.")
@click.pass_context
@fails_cleanly
def require_signature(ctx: click.Context, name: str, off: bool) -> None:
    """Refuse versions of NAME whose signature does not verify with its keys."""
    with client(ctx, progress=False) as cairn:
        found = cairn.require_signature(name, not off)
    if wants_json(ctx):
        emit_json(found)
    else:
        state = "requires" if found.require_signature else "does not require"
        click.echo(f"namespace {found.name} {state} signatures")


@click.group()
def keys() -> None:
    """The public keys a namespace trusts to sign its models."""


@keys.command(name="add")
@click.argument("namespace_name", metavar="NAMESPACE")
@click.argument("name")
@click.argument("public_key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
@fails_cleanly
def add_key(ctx: click.Context, namespace_name: str, name: str, public_key: Path) -> None:
    """Trust PUBLIC_KEY (ECDSA, PEM) as NAME to sign models of NAMESPACE."""
    with client(ctx, progress=False) as cairn:
        added = cairn.add_key(namespace_name, name, public_key.read_text())
    if wants_json(ctx):
        emit_json(added)
    else:
        click.echo(f"{namespace_name} trusts {name} ({added.fingerprint})")


@keys.command(name="list")
@click.argument("namespace_name", metavar="NAMESPACE")
@click.pass_context
@fails_cleanly
def list_keys(ctx: click.Context, namespace_name: str) -> None:
    with client(ctx, progress=False) as cairn:
        found = cairn.keys(namespace_name)
    if wants_json(ctx):
        emit_json(found)
        return
    table(
        None,
        ["name", "fingerprint", "added by", "added"],
        ((k.name, k.fingerprint, k.added_by, table_time(k.created_at)) for k in found),
    )


@keys.command(name="rm")
@click.argument("namespace_name", metavar="NAMESPACE")
@click.argument("name")
@click.pass_context
@fails_cleanly
def remove_key(ctx: click.Context, namespace_name: str, name: str) -> None:
    with client(ctx, progress=False) as cairn:
        cairn.remove_key(namespace_name, name)
    if not wants_json(ctx):
        click.echo(f"{namespace_name} no longer trusts {name}")
