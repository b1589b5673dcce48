"""``cairn``: the command line, written against the SDK (plus ``server`` and ``db``)."""

from __future__ import annotations

from typing import Any

import click

from cairn import __version__
from cairn.cli import (
    aliases,
    audit,
    gc,
    identity,
    imports,
    lifecycle,
    namespaces,
    profiles_cli,
    registry,
    webhooks,
)
from cairn.cli.exits import help_text
from cairn.cli.group import CairnGroup, add_global_options
from cairn.cli.server import db, server


@click.group(
    cls=CairnGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="\b\nExit codes:\n" + help_text(),
)
@click.version_option(__version__, prog_name="cairn")
def cli() -> None:
    """Cairn, the model registry. The global options may come before or after the command
    (cairn whoami --json); the server and token come from --url/--token, then --profile, then
    CAIRN_URL/CAIRN_TOKEN, then CAIRN_PROFILE or the profile 'default' (cairn login), then a
    server on this machine."""


cli.add_command(server)
cli.add_command(db)
for command in registry.COMMANDS:
    cli.add_command(command)
for command in imports.COMMANDS:
    cli.add_command(command)
cli.add_command(aliases.alias)
cli.add_command(namespaces.namespace)
cli.add_command(namespaces.keys)
cli.add_command(audit.audit)
cli.add_command(gc.gc)
cli.add_command(webhooks.webhook)
for command in lifecycle.COMMANDS:
    cli.add_command(command)
for command in identity.COMMANDS:
    cli.add_command(command)
for command in profiles_cli.COMMANDS:
    cli.add_command(command)
add_global_options(cli, hidden=False)


def main() -> Any:
    return cli()
