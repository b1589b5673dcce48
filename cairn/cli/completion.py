"""Shell completion of model references, asked of the server as the user types.

click completes commands and options itself (``eval "$(_CAIRN_COMPLETE=bash_source cairn)"``;
``zsh_source``, ``fish_source``); this completes a REF argument: namespaces (``risk/``) and
the models of ``default`` for a bare word, a namespace's models after ``ns/``, version
numbers after ``:``, aliases after ``@``. It asks with the options typed so far (``--url``,
``--profile``…) and the usual environment, briefly, and offers nothing when the server cannot
be asked: a completion never prints an error into the user's command line."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

import click
from click.shell_completion import CompletionItem

from cairn.cli.context import connection
from cairn.client import Client

ASK_SECONDS = 3.0
MOST = 200  # candidates asked for at most


def complete_reference(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    try:
        found = connection(ctx)
        with Client(
            found.url,
            found.token,
            progress=False,
            ca_bundle=found.ca_bundle,
            timeout=ASK_SECONDS,
            retry_seconds=0,
        ) as cairn:
            return [
                CompletionItem(c)
                for c in islice(_candidates(cairn, incomplete), MOST)
                if c.casefold().startswith(incomplete.casefold())  # names keep their spelling
            ]
    except Exception:
        return []


def _candidates(cairn: Client, typed: str) -> Iterator[str]:
    if "@" in typed:
        model = typed.partition("@")[0]
        yield from (f"{model}@{alias}" for alias in sorted(cairn.get_model(model).aliases))
    elif ":" in typed:
        model = typed.partition(":")[0]
        yield f"{model}:latest"
        yield from (f"{model}:{v.number}" for v in cairn.versions(model, page_size=MOST))
    elif "/" in typed:
        namespace = typed.partition("/")[0]
        yield from (m.ref for m in cairn.models(namespace))
    else:
        yield from (f"{ns.name}/" for ns in cairn.namespaces())
        yield from (m.name for m in cairn.models("default"))
