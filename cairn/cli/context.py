"""The SDK client a CLI command works with, built from the global options."""

from __future__ import annotations

import click

from cairn.client import Client


def client(ctx: click.Context, *, progress: bool = True) -> Client:
    opts = ctx.find_root().obj or {}
    return Client(
        opts.get("url"),
        opts.get("token"),
        progress=progress and not opts.get("json"),
        ca_bundle=opts.get("ca_bundle"),
    )


def wants_json(ctx: click.Context) -> bool:
    return bool((ctx.find_root().obj or {}).get("json"))
