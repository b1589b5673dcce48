"""The README must not drift from the code: every setting and every CLI command is documented."""

import re
from pathlib import Path

import click

from cairn.cli.main import cli
from cairn.config import Settings

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


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
