"""``cairn login URL`` and ``cairn logout``: profiles in the user's config file
(``cairn.cli.profiles``)."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import click

from cairn.cli import profiles
from cairn.cli.context import options, wants_json
from cairn.cli.output import emit_json, fails_cleanly
from cairn.client import Client


@click.command()
@click.argument("url")
@click.option(
    "--token-stdin", is_flag=True, help="Read the token from standard input instead of asking."
)
@click.pass_context
@fails_cleanly
def login(ctx: click.Context, url: str, token_stdin: bool) -> None:
    """Check a token with the server at URL and store both as a profile (--profile NAME;
    default: CAIRN_PROFILE, or 'default') in the user's config file, readable by its owner
    alone. The token is asked for without echo, or read from standard input."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(f"a server URL is http(s)://host[:port], not {url!r}")
    given = options(ctx)
    name = profiles.chosen_name(given.get("profile"))
    if token_stdin:
        token = sys.stdin.readline().strip()
    else:
        token = given.get("token") or click.prompt("Token", hide_input=True, err=True).strip()
    if not token:
        raise click.BadParameter("the token is empty", param_hint="token")
    ca_bundle = given.get("ca_bundle")
    with Client(url, token, progress=False, ca_bundle=ca_bundle) as cairn:
        me = cairn.whoami()  # a token the server refuses is not stored (exit 5)
    stored = profiles.load()
    stored[name] = profiles.Profile(url.rstrip("/"), token, ca_bundle)
    path = profiles.save(stored)
    if wants_json(ctx):
        emit_json({"profile": name, "url": url.rstrip("/"), "principal": me.name})
    else:
        click.echo(f"signed in to {url} as {me.name}: profile {name!r} in {path}")


@click.command()
@click.pass_context
@fails_cleanly
def logout(ctx: click.Context) -> None:
    """Forget a profile (--profile NAME; default: CAIRN_PROFILE, or 'default') and its token.
    The token itself stays valid on the server until it expires or is revoked."""
    name = profiles.chosen_name(options(ctx).get("profile"))
    stored = profiles.load()
    removed = stored.pop(name, None)
    if removed is not None:
        profiles.save(stored)
    if wants_json(ctx):
        emit_json({"profile": name, "removed": removed is not None})
    elif removed is None:
        click.echo(f"no profile {name!r} in {profiles.config_path()}", err=True)
    else:
        click.echo(f"profile {name!r} removed from {profiles.config_path()}")


COMMANDS = [login, logout]
