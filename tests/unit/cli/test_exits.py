"""The exit codes are written once (``cairn.cli.exits``); the top help text and the README's
table must both say the same."""

from __future__ import annotations

import re

from click.testing import CliRunner

from cairn.cli import exits
from cairn.cli.main import cli
from tests.readme import README


def _help_codes() -> dict[int, str]:
    text = CliRunner().invoke(cli, ["--help"], prog_name="cairn").output
    listed = text.split("Exit codes:", 1)[1]
    return {int(code): meaning for code, meaning in re.findall(r"^\s+(\d+)  (.+)$", listed, re.M)}


def _readme_codes() -> dict[int, str]:
    section = README.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", section, flags=re.M)
    return {int(code): meaning.replace("`", "") for code, meaning in rows}


def test_the_help_and_the_readme_list_every_exit_code_with_the_same_meaning() -> None:
    helped, documented = _help_codes(), _readme_codes()
    used = {code for _, code in exits.EXIT_CODES} | {exits.OK, exits.DENIED, exits.WAITING}
    assert set(helped) == set(documented) == {code for code, _ in exits.EXIT_MEANINGS}
    assert used <= set(helped)
    for code, meaning in helped.items():
        # The README may say more, after what the help says.
        assert documented[code].startswith(meaning), (code, documented[code], meaning)


def test_an_error_class_exits_with_the_status_of_its_family() -> None:
    from cairn import errors

    assert exits.exit_code(errors.PolicyViolation("no")) == exits.DENIED
    assert exits.exit_code(errors.VersionBlocked("no")) == exits.INTEGRITY
    assert exits.exit_code(errors.ModelExists("no")) == exits.CONFLICT
    assert exits.exit_code(errors.EmptyToken("no")) == exits.BAD_INPUT
    assert exits.exit_code(errors.ConfigError("no")) == exits.ERROR
