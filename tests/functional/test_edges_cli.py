"""The edge rules as a user meets them at the command line, against a real server: what the CLI
reads and sends is held to the same rules as what the server reads."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.conftest import LiveServer
from tests.functional import run_cli


def _policy(server: LiveServer) -> dict[str, object]:
    got = httpx.get(f"{server.url}/api/v1/namespaces/default/policy", headers=server.headers)
    got.raise_for_status()
    found: dict[str, object] = got.json()
    return found


def test_a_policy_file_with_a_duplicate_key_is_refused_not_half_read(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """``json.loads`` keeps the last of two keys: the approvals the author wrote first would
    be dropped without a word. The CLI reads the file with the server's strict reader."""
    strict = {"states": {"production": {"approvals": 2}}}
    doubled = '{"states": {"production": {"approvals": 2}, "production": {"approvals": 0}}}'
    assert json.loads(doubled) == {"states": {"production": {"approvals": 0}}}
    before = _policy(live_server)
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(doubled)
    done = run_cli(live_server.url, "policy", "set", "default", str(policy_file))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "duplicate key 'production'" in done.stderr
    assert _policy(live_server) == before
    policy_file.write_text(json.dumps(strict))
    done = run_cli(live_server.url, "policy", "set", "default", str(policy_file))
    assert done.returncode == 0, done.stderr
    assert _policy(live_server) != before
