"""Profiles (``cairn login`` / ``logout``, ``--profile``, ``CAIRN_PROFILE``) in the test's own
config folder (``XDG_CONFIG_HOME``, set per test by ``_this_machine``), and shell completion
of references asked of a live server, as bash asks it."""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path

from cairn.client import Client
from tests.conftest import LiveServer, free_port
from tests.functional import run_cli


def _config() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "cairn" / "config.toml"


def _user_token(url: str, name: str) -> str:
    with Client(url, progress=False) as cairn:
        cairn.create_principal(name)
        cairn.grant(name, "default", "reader")
        return cairn.create_token("laptop", principal=name, days=1).secret


def _whoami(*args: str, url: str = "", env: dict[str, str] | None = None) -> str:
    """Who the CLI is signed in as, with no CAIRN_URL unless ``url`` (the profile decides)."""
    result = run_cli(url, "whoami", "--json", *args, env=env)
    assert result.returncode == 0, (result.stdout, result.stderr)
    return str(json.loads(result.stdout)["name"])


def test_login_stores_a_checked_token_in_a_private_profile(
    live_server: LiveServer, tmp_path: Path
) -> None:
    url = live_server.url
    alice, bob = _user_token(url, "alice"), _user_token(url, "bob")

    refused = run_cli("", "login", url, "--token-stdin", stdin="cairn_not-a-token\n")
    assert refused.returncode == 5, refused.stderr
    assert not _config().exists()  # a token the server refuses is not stored

    unanswered = run_cli("", "login", url, "--json", stdin="")  # the prompt gets no answer
    assert unanswered.returncode == 1
    assert json.loads(unanswered.stdout)["error"]["code"] == "aborted"
    asked = run_cli("", "login", url, stdin=alice + "\n")  # the hidden prompt
    assert asked.returncode == 0, asked.stderr
    assert alice not in asked.stdout + asked.stderr
    assert stat.S_IMODE(_config().stat().st_mode) == 0o600
    assert stat.S_IMODE(_config().parent.stat().st_mode) == 0o700
    piped = run_cli("", "login", url, "--profile", "ci", "--token-stdin", stdin=bob + "\n")
    assert piped.returncode == 0, piped.stderr

    # The profile 'default', then --profile and CAIRN_PROFILE, then the flags and variables.
    assert _whoami() == "alice"
    assert _whoami("--profile", "ci") == "bob"
    assert _whoami(env={"CAIRN_PROFILE": "ci"}) == "bob"
    assert _whoami("--token", bob) == "bob"  # a flag wins over the profile
    assert _whoami(env={"CAIRN_TOKEN": bob}) == "bob"  # so does the variable
    assert _whoami("--profile", "ci", env={"CAIRN_TOKEN": alice}) == "bob"  # --profile wins
    # A profile's token goes only to its URL: named otherwise, the same server gets no token
    # from the profile (here it is the local admin's that goes, as to any server on this
    # machine without one).
    other = url.replace("127.0.0.1", "localhost")
    assert _whoami(url=other) == "admin"
    assert _whoami("--url", other) == "admin"

    missing = run_cli("", "whoami", "--profile", "nope", "--json")
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["error"]["code"] == "config_error"

    out = run_cli("", "logout", "--profile", "ci")
    assert out.returncode == 0, out.stderr
    left = tomllib.loads(_config().read_text())
    assert "ci" not in left["profiles"] and bob not in _config().read_text()
    assert run_cli("", "whoami", "--profile", "ci").returncode == 1
    assert _whoami() == "alice"
    assert run_cli("", "logout").returncode == 0
    nowhere = f"http://127.0.0.1:{free_port()}"
    assert _whoami(url=url) == "admin"  # back to the local server's admin
    assert run_cli(nowhere, "whoami").returncode == 7


def _complete(url: str, *words: str, shell: str = "bash") -> list[str]:
    """What the shell would offer for the last of ``words`` (click's protocol for it)."""
    env = {
        "_CAIRN_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": " ".join(["cairn", *words]),
        # fish sends the word being completed itself, bash and zsh its position.
        "COMP_CWORD": words[-1] if shell == "fish" else str(len(words)),
    }
    result = run_cli(url, env=env)
    assert result.returncode == 0, result.stderr
    if shell == "zsh":  # type, value, help ('_': none), one per line each
        lines = result.stdout.splitlines()
        return [lines[i + 1] for i in range(0, len(lines) - 2, 3)]
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


def test_completion_offers_namespaces_models_versions_and_aliases_from_the_server(
    live_server: LiveServer, tmp_path: Path
) -> None:
    url = live_server.url
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.txt").write_text("weights\n")
    with Client(url, progress=False, cache_dir=tmp_path / "cache") as cairn:
        cairn.create_namespace("risk")
        for name in ("fraud", "risk/churn", "frost"):
            cairn.push(name, folder, capture_provenance=False)
        cairn.push("fraud", folder, description="v2", capture_provenance=False)
        cairn.set_alias("fraud", "champion", 1)

    assert _complete(url, "show", "fr") == ["fraud", "frost"]
    assert set(_complete(url, "show", "")) >= {"default/", "risk/", "fraud", "frost"}
    assert _complete(url, "pull", "risk/") == ["risk/churn"]
    assert _complete(url, "show", "fraud:") == ["fraud:latest", "fraud:2", "fraud:1"]
    assert _complete(url, "promote", "default/fraud@") == ["default/fraud@champion"]
    assert _complete(url, "ls", "--json", "ri") == ["risk/"]
    # The options typed so far are used: another server, or none, offers nothing.
    nowhere = f"http://127.0.0.1:{free_port()}"
    assert _complete(url, "show", "--url", nowhere, "fr") == []
    assert _complete(nowhere, "show", "fr") == []
    # Commands and options still complete as click completes them.
    assert "show" in _complete(url, "sh")
    # zsh and fish are asked the same way.
    assert _complete(url, "show", "fraud:", shell="zsh") == ["fraud:latest", "fraud:2", "fraud:1"]
    assert _complete(url, "show", "fr", shell="fish") == ["fraud", "frost"]


def test_a_config_file_not_as_login_writes_it_is_a_config_error() -> None:
    """A hand-edited config whose ``profiles`` is not a table is the config error naming the
    file (exit 1, the error body under --json), not a traceback."""
    _config().parent.mkdir(parents=True, exist_ok=True)
    for text in ('profiles = "oops"\n', "profiles = [1, 2]\n", "[profiles]\nci = 3\n"):
        _config().write_text(text)
        done = run_cli("", "whoami", "--json")
        assert done.returncode == 1, (text, done.stdout, done.stderr)
        assert json.loads(done.stdout)["error"]["code"] == "config_error", text
