"""The README must not drift from the code: every setting, every CLI command and every error
code is documented, and the error table says what each surface really answers."""

import re
from pathlib import Path

import click

from cairn import errors
from cairn.api.errors import CRASH_CODE, HTTP_CODES, status_for
from cairn.api.mlflow.errors import mlflow_code
from cairn.api.oci.errors import oci_code
from cairn.cli.main import cli
from cairn.config import Settings
from tests.readme import README, Answers, error_table


def test_every_setting_is_in_the_readme_table_and_nothing_else_is() -> None:
    documented = set(re.findall(r"^\| `(CAIRN_[A-Z0-9_]+)` \|", README, flags=re.M))
    declared = {f"CAIRN_{name.upper()}" for name in Settings.model_fields}
    assert documented == declared


def _commands(group: click.Group, prefix: str = "cairn") -> set[str]:
    found = set()
    for name, command in group.commands.items():
        found.add(f"{prefix} {name}")
        if isinstance(command, click.Group):
            found |= _commands(command, f"{prefix} {name}")
    return found


def test_every_cli_command_is_in_the_readme() -> None:
    table = README.split("## The CLI", 1)[1].split("##", 1)[0]
    missing = set()
    for command in _commands(cli):
        *group, last = command.split(" ")
        parent = " ".join(group)
        # A subcommand may be written as an alternative: `cairn db upgrade | current | check`.
        pattern = (
            rf"`{re.escape(parent)} [^`]*\b{re.escape(last)}\b"
            if group[1:]
            else (rf"`{re.escape(command)}\b")
        )
        if not re.search(pattern, table):
            missing.add(command)
    assert not missing, f"undocumented commands: {sorted(missing)}"


def test_the_readme_gives_exactly_two_commands_up_front() -> None:
    section = README.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert [b.strip() for b in blocks] == ["./scripts/serve", "./scripts/test"]
    ci = (Path(__file__).parents[2] / ".ci" / "run").read_text(encoding="utf-8")
    assert "scripts/test" in ci


def _walk(cls: type[errors.CairnError]) -> list[type[errors.CairnError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_walk(sub))
    return found


def _answers(status: int, exc: errors.CairnError | None) -> Answers:
    """What the three surfaces' own tables make of an error Cairn answers with ``status``."""
    oci, oci_status = oci_code(exc, status)
    return Answers(status, mlflow_code(status, exc), (oci_status, oci))


def _every_answer() -> dict[str, Answers]:
    """Every code the server can answer, in the error tree's order, then those no class
    stands for (the framework's refusals, a crash)."""
    found: dict[str, Answers] = {}
    for cls in _walk(errors.CairnError):
        if cls.__module__ == "cairn.errors":  # not a subclass another test made
            exc = cls("it failed")
            found[cls.code] = _answers(status_for(exc), exc)
    for status, (code, _message) in HTTP_CODES.items():
        found.setdefault(code, _answers(status, None))
    found[CRASH_CODE] = _answers(500, None)
    return found


def test_the_error_table_says_what_every_surface_answers_for_every_code() -> None:
    table, answers = error_table(), _every_answer()
    assert table == answers, "the README's error table (### Error codes) differs from the code"
    assert list(table) == list(answers), "the rows follow the error tree's order"


def test_a_refusal_of_the_framework_answers_as_the_class_of_its_code_would() -> None:
    # The framework's own 413 shares its code with PayloadTooLarge: one row holds for both.
    for status, (code, _message) in HTTP_CODES.items():
        cls = errors.error_class_for(code)
        if cls is not errors.CairnError:
            assert _answers(status, None) == _answers(status_for(cls("x")), cls("x")), code
