"""The CLI in a shell and a CI step: global options wherever they are written, failures as the
error body under ``--json`` with the documented exit status, a denial and a wait for
approvals that a script can tell from success, bare model names, and whole tables in logs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from cairn.cli import exits
from cairn.client import Client
from tests.conftest import LiveServer, free_port
from tests.functional import run_cli

Result = subprocess.CompletedProcess[str]


def _error(result: Result, status: int) -> dict[str, Any]:
    """The one error body, alone on stdout, and the exit status documented for it."""
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    body = json.loads(result.stdout)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"] and isinstance(body["error"]["details"], dict)
    error: dict[str, Any] = body["error"]
    return error


def _push(url: str, tmp_path: Path, name: str = "fraud", **fields: Any) -> str:
    folder = tmp_path / f"model-{name}"
    folder.mkdir(exist_ok=True)
    (folder / "weights.txt").write_text("weights\n")
    with Client(url, progress=False, cache_dir=tmp_path / "cache") as cairn:
        return cairn.push(name, folder, capture_provenance=False, **fields).ref


def test_global_options_are_taken_before_or_after_the_command(live_server: LiveServer) -> None:
    url = live_server.url
    before = run_cli(url, "--json", "whoami")
    after = run_cli(url, "whoami", "--json")
    assert before.returncode == after.returncode == 0, (before.stderr, after.stderr)
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert json.loads(run_cli(url, "whoami", "--format", "json").stdout) == json.loads(after.stdout)
    # In a group's command too, and --url after the command wins over CAIRN_URL.
    nowhere = f"http://127.0.0.1:{free_port()}"
    listed = run_cli(nowhere, "token", "list", "--url", url, "--json")
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)


def test_under_json_every_failure_is_the_error_body_with_its_exit_status(
    live_server: LiveServer,
) -> None:
    url = live_server.url
    assert _error(run_cli(url, "show", "nope:1", "--json"), 3)["code"] == "model_not_found"
    assert _error(run_cli(url, "--json", "show", "a/b/c:1"), 2)["code"] == "invalid_reference"
    unknown = _error(run_cli(url, "whoami", "--bogus", "--json"), 2)
    assert unknown["code"] == "usage_error" and "--bogus" in unknown["message"]
    # The command in a process of its own says the same, with the same status.
    alone = _error(run_cli(url, "whoami", "--bogus", "--json", process=True), 2)
    assert (alone["code"], alone["message"]) == (unknown["code"], unknown["message"])
    bad_choice = _error(run_cli(url, "--json", "promote", "fraud:1", "nowhere"), 2)
    assert bad_choice["code"] == "usage_error" and bad_choice["details"]["param"] == "state"
    nowhere = f"http://127.0.0.1:{free_port()}"
    down = _error(run_cli(nowhere, "ls", "--json"), 7)
    assert (down["code"], down["details"]["kind"]) == ("server_unreachable", "ConnectError")
    # Without --json: one line on stderr, nothing on stdout.
    plain = run_cli(url, "show", "nope:1")
    assert (plain.returncode, plain.stdout) == (3, "")
    assert "model_not_found" in plain.stderr


def test_a_denial_and_a_wait_for_approvals_have_their_own_exit_status(
    live_server: LiveServer, tmp_path: Path
) -> None:
    url = live_server.url
    ref = _push(url, tmp_path)
    # The default policy: production only after staging.
    denied = run_cli(url, "promote", ref, "production", "--check")
    assert denied.returncode == exits.DENIED, denied.stderr
    assert "FAIL" in denied.stdout
    assert denied.stderr.startswith("denied: ")
    as_json = run_cli(url, "promote", ref, "production", "--check", "--json")
    assert as_json.returncode == exits.DENIED
    assert json.loads(as_json.stdout)["decision"]["outcome"] == "denied"  # the answer, as ever
    tested = run_cli(url, "policy", "test", ref, "production")
    assert tested.returncode == exits.DENIED and "denied" in tested.stdout
    refused = run_cli(url, "promote", ref, "production", "--json")
    assert _error(refused, exits.DENIED)["code"] == "policy_violation"

    with Client(url, progress=False) as cairn:
        cairn.set_policy("default", {"states": {"staging": {"approvals": 1}}})
    would_wait = run_cli(url, "promote", ref, "staging", "--check")
    assert would_wait.returncode == exits.WAITING, would_wait.stderr
    assert "waiting for 1 more approval (0 of 1)" in would_wait.stderr
    assert run_cli(url, "policy", "test", ref, "staging").returncode == exits.WAITING
    waits = run_cli(url, "promote", ref, "staging")
    assert waits.returncode == exits.WAITING, waits.stderr
    assert "waits for approvals: request" in waits.stdout
    assert "waiting for 1 more approval (0 of 1)" in waits.stderr
    with Client(url, progress=False) as cairn:
        assert cairn.get(ref).state == "registered"
        cairn.set_policy("default", {"states": {"staging": {"approvals": 0}}})
    allowed = run_cli(url, "promote", ref, "staging", "--check")
    assert (allowed.returncode, allowed.stderr) == (0, "")


def test_a_bare_model_name_finds_the_model_in_default(
    live_server: LiveServer, tmp_path: Path
) -> None:
    url = live_server.url
    _push(url, tmp_path, "fraud")
    _push(url, tmp_path, "fraud")
    listed = run_cli(url, "ls", "fraud", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [v["ref"] for v in json.loads(listed.stdout)] == ["default/fraud:2", "default/fraud:1"]
    assert json.loads(run_cli(url, "show", "fraud", "--json").stdout)["number"] == 2
    # A namespace of the same name wins; 'default/NAME' names the model, 'NAME/' the namespace.
    with Client(url, progress=False) as cairn:
        cairn.create_namespace("fraud")
    namespace = run_cli(url, "ls", "fraud", "--json")
    assert json.loads(namespace.stdout) == []
    assert len(json.loads(run_cli(url, "ls", "default/fraud", "--json").stdout)) == 2
    assert json.loads(run_cli(url, "ls", "fraud/", "--json").stdout) == []
    missing = run_cli(url, "ls", "nothing")
    assert missing.returncode == 3
    assert "no namespace 'nothing' and no model 'default/nothing'" in missing.stderr


def test_tables_are_whole_off_a_terminal_and_tsv_on_request(
    live_server: LiveServer, tmp_path: Path
) -> None:
    url = live_server.url
    about = "a description long enough to be cut by any table drawn for a terminal " * 3
    _push(url, tmp_path, "a-model-with-a-rather-long-name-for-a-column", description="v")
    with Client(url, progress=False) as cairn:
        cairn.update_model("a-model-with-a-rather-long-name-for-a-column", description=about)
    drawn = run_cli(url, "ls")  # the runner's stdout is not a terminal, as in a CI log
    assert drawn.returncode == 0, drawn.stderr
    assert "default/a-model-with-a-rather-long-name-for-a-column" in drawn.stdout
    assert about.strip() in drawn.stdout
    tsv = run_cli(url, "ls", "--format", "tsv")
    lines = [line.split("\t") for line in tsv.stdout.splitlines()]
    assert lines[0] == ["model", "latest", "owner", "description"]
    assert lines[1][0] == "default/a-model-with-a-rather-long-name-for-a-column"
    assert (lines[1][1], lines[1][3]) == ("1", about)
