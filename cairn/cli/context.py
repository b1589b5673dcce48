"""The global options as a command sees them (given before or after its name), and the SDK
client built from them."""

from __future__ import annotations

from typing import Any

import click

from cairn.cli import profiles
from cairn.client import Client

OPTIONS = "cairn.options"  # where the global options are kept, in the context's shared meta


def remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """The callback of every copy of a global option: keep what was given (a later copy, after
    the command's name, wins over one before it); leave what was not given alone. The copies
    are named ``global_*``, apart from any parameter of the command's own (``webhook add URL``)."""
    if value is None or value is False or param.name is None:
        return
    ctx.meta.setdefault(OPTIONS, {})[param.name.removeprefix("global_")] = value


def options(ctx: click.Context) -> dict[str, Any]:
    found: dict[str, Any] = ctx.meta.get(OPTIONS, {})
    return found


def output_format(ctx: click.Context) -> str:
    """``json`` (``--json`` or ``--format json``), ``tsv`` or ``table``."""
    given = options(ctx)
    return "json" if given.get("json") else str(given.get("format") or "table")


def wants_json(ctx: click.Context) -> bool:
    return output_format(ctx) == "json"


def connection(ctx: click.Context) -> profiles.Connection:
    """Where to connect and with which token, from the flags, the environment and the
    profiles, in that order (``profiles.resolve``)."""
    given = options(ctx)
    return profiles.resolve(
        url=given.get("url"),
        token=given.get("token"),
        profile=given.get("profile"),
        ca_bundle=given.get("ca_bundle"),
    )


def client(ctx: click.Context, *, progress: bool = True, timeout: float = 60.0) -> Client:
    found = connection(ctx)
    return Client(
        found.url,
        found.token,
        progress=progress and not wants_json(ctx),
        ca_bundle=found.ca_bundle,
        timeout=timeout,
    )
