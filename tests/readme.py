"""The README, as the tests that keep it true read it: its text, and its table of error codes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


class Answers(NamedTuple):
    """How each surface answers one error code: a status, and MLflow's and OCI's own codes."""

    api: int
    mlflow: tuple[int, str]
    oci: tuple[int, str]


_ROW = re.compile(
    r"\| `(?P<code>[a-z_]+)` \| (?P<api>\d{3}) "
    r"\| (?P<mlflow_status>\d{3}) `(?P<mlflow>[A-Z_]+)` "
    r"\| (?P<oci_status>\d{3}) `(?P<oci>[A-Z_]+)` \| [^|]+ \|"
)


def error_table() -> dict[str, Answers]:
    """The rows of the README's ``### Error codes`` table, in their order, by code."""
    section = README.split("\n### Error codes\n", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    table: dict[str, Answers] = {}
    for line in rows:
        row = _ROW.fullmatch(line)
        assert row is not None, f"a row of the error table cannot be read: {line}"
        assert row["code"] not in table, f"{row['code']} has two rows"
        table[row["code"]] = Answers(
            int(row["api"]),
            (int(row["mlflow_status"]), row["mlflow"]),
            (int(row["oci_status"]), row["oci"]),
        )
    return table
