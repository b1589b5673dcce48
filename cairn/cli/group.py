"""The ``cairn`` group: global options that every command takes wherever they are written
(``cairn --json whoami`` and ``cairn whoami --json``), and failures told in the documented
shape and exit status, usage errors included."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from cairn.cli.context import remember
from cairn.cli.exits import error_json, fail_usage

FORMATS = ("table", "tsv", "json")


def _global_options() -> list[click.Option]:
    """A fresh copy of each global option (a parameter belongs to one command)."""
    return [
        click.Option(
            ["--url", "global_url"],
            metavar="URL",
            help="Server URL (CAIRN_URL; default http://127.0.0.1:8080).",
        ),
        click.Option(["--token", "global_token"], metavar="TOKEN", help="API token (CAIRN_TOKEN)."),
        click.Option(
            ["--profile", "global_profile"],
            metavar="NAME",
            help="Use the server and token stored by `cairn login` under NAME (CAIRN_PROFILE).",
        ),
        click.Option(
            ["--ca-bundle", "global_ca_bundle"],
            metavar="FILE",
            help="PEM file of certificate authorities to trust for an https:// server "
            "(CAIRN_CA_BUNDLE).",
        ),
        click.Option(
            ["--json", "global_json"], is_flag=True, default=False, help="Print JSON for scripts."
        ),
        click.Option(
            ["--format", "global_format"],
            type=click.Choice(FORMATS),
            help="table (on a terminal, cut to its width; elsewhere whole), tsv, or json.",
        ),
    ]


def _with_callback(option: click.Option, *, hidden: bool) -> click.Option:
    option.callback = remember
    option.expose_value = False
    option.hidden = hidden
    return option


def add_global_options(command: click.Command, *, hidden: bool) -> None:
    """Give ``command`` (and its subcommands) a copy of each global option it does not spell
    itself: an option of its own with the same name (``webhook add --url``) keeps its meaning,
    and the global one is then written before the command's name."""
    taken = {opt for param in command.params for opt in param.opts}
    for option in _global_options():
        if not taken.intersection(option.opts):
            command.params.append(_with_callback(option, hidden=hidden))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_global_options(sub, hidden=True)


def asks_json(args: Sequence[str]) -> bool:
    """Whether the command line asks for JSON: read before click parses it, so that a usage
    error can be told as JSON too."""
    words = list(args)
    words = words[: words.index("--")] if "--" in words else words
    for i, word in enumerate(words):
        if word == "--json" or word == "--format=json":
            return True
        if word == "--format" and words[i + 1 : i + 2] == ["json"]:
            return True
    return False


class CairnGroup(click.Group):
    """The top group: errors click finds in a command line (a usage error: exit 2) are told
    like every other failure, as an error body on stdout under ``--json``."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            result = fail_usage(exc, as_json=asks_json(argv))
        except click.Abort:  # Ctrl-C, or no answer to a prompt
            if asks_json(argv):
                error_json("aborted", "aborted before it was done", {})
            else:
                click.echo("Aborted!", err=True)
            result = 1
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)
