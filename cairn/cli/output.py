"""How the CLI speaks: tables for people, JSON for scripts, and exit codes that mean something."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

import click
import httpx
import orjson
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from cairn import errors
from cairn.cli.context import output_format, wants_json
from cairn.cli.exits import fail

F = TypeVar("F", bound=Callable[..., Any])

console = Console()


def fails_cleanly(func: F) -> F:
    """Turn Cairn and connection errors into one line on stderr (under ``--json``, the error
    body on stdout) and the exit status documented for them (``cairn.cli.exits``)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (errors.CairnError, httpx.TransportError) as exc:
            current = click.get_current_context(silent=True)
            fail(exc, as_json=current is not None and wants_json(current))

    return wrapper  # type: ignore[return-value]


def emit_json(value: Any) -> None:
    """Print SDK records (and lists and dicts of them) as sorted, indented JSON."""
    click.echo(json.dumps(plain(value), indent=2, sort_keys=True))


def plain(value: Any) -> Any:
    """SDK records as the JSON values the server wrote them as: a model dumped as the API's
    ``ok`` dumps it (by alias, absent parts left out), its times written by orjson in RFC 3339
    UTC with a ``Z``, so that ``--json`` prints the server's answer, not pydantic's own
    spelling of it (which ``--json`` printed before the SDK had types, and scripts read)."""
    return orjson.loads(orjson.dumps(value, default=_dump, option=orjson.OPT_UTC_Z))


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def moment(value: datetime) -> str:
    """A time as the server writes it (``2026-03-03T14:00:12.5Z``): RFC 3339 in UTC."""
    return str(plain(value))


def table_time(value: datetime) -> str:
    """A time for a table, to the second: ``2026-03-03T14:00:12``."""
    return moment(value)[:19]


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Rows for people: a table cut to the terminal's width on a terminal, the whole table
    elsewhere (a CI log keeps every column); ``--format tsv``: a header line and a line per
    row, tab-separated, with tabs, newlines and backslashes escaped, for ``cut`` and ``awk``."""
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    current = click.get_current_context(silent=True)
    if current is not None and output_format(current) == "tsv":
        for line in [list(columns), *cells]:
            click.echo("\t".join(_tsv(cell) for cell in line))
        return
    grid = Table(title=title, show_edge=False, header_style="bold")
    for column in columns:
        grid.add_column(column)
    for row in cells:
        grid.add_row(*row)
    if console.is_terminal:
        console.print(grid)
        return
    Console(file=console.file, width=WIDE, color_system=None).print(grid)


WIDE = 1 << 16  # wider than any table: rich then draws each column at its full width


def _tsv(cell: str) -> str:
    return cell.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def short(digest: str) -> str:
    return digest.partition(":")[2][:12]


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def key_values(pairs: Sequence[str], what: str) -> dict[str, str]:
    """``k=v`` options into a dict; a pair without ``=`` is a usage error."""
    return dict(key_value_pairs(pairs, what))


def key_value_pairs(pairs: Sequence[str], what: str) -> list[tuple[str, str]]:
    """``k=v`` options in order, a key repeated as often as it is given."""
    out: list[tuple[str, str]] = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{what} is written key=value, not {pair!r}")
        out.append((key, value))
    return out
