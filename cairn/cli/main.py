"""``cairn``: the command line, written against the SDK (plus ``server`` and ``db``)."""

from __future__ import annotations

from typing import Any

import click

from cairn import __version__
from cairn.cli import aliases, audit, gc, identity, lifecycle, namespaces, registry, webhooks
from cairn.cli.server import db, server


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cairn")
@click.option("--url", envvar="CAIRN_URL", default=None, help="Server URL (CAIRN_URL).")
@click.option("--token", envvar="CAIRN_TOKEN", default=None, help="API token (CAIRN_TOKEN).")
@click.option(
    "--ca-bundle",
    envvar="CAIRN_CA_BUNDLE",
    default=None,
    help="PEM file of certificate authorities to trust for an https:// server (CAIRN_CA_BUNDLE).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def cli(
    ctx: click.Context, url: str | None, token: str | None, ca_bundle: str | None, as_json: bool
) -> None:
    """Cairn, the model registry. Exit codes: 0 ok, 1 error, 2 bad input, 3 not found,
    4 conflict, 5 permission denied, 6 integrity failure, 7 server unreachable or failing."""
    ctx.obj = {"url": url, "token": token, "ca_bundle": ca_bundle, "json": as_json}


cli.add_command(server)
cli.add_command(db)
for command in registry.COMMANDS:
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


def main() -> Any:
    return cli()
