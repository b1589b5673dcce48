"""``cairn --json`` prints the server's answer as the server wrote it (keys, values, times),
though the SDK underneath reads it into typed records: scripts parse that output."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import LiveServer
from tests.functional import run_cli, wait_for

API = "/api/v1"


def _printed(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def _as_printed(answer: Any) -> str:
    """The server's JSON as ``--json`` printed it when the SDK handed out the server's dicts."""
    return json.dumps(answer, indent=2, sort_keys=True) + "\n"


def _public_key(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    path.write_bytes(key.public_bytes(serialization.Encoding.PEM, spki))
    return path


def test_namespace_and_key_commands_print_the_servers_answer(
    live_server: LiveServer, tmp_path: Path
) -> None:
    url = live_server.url
    with httpx.Client(base_url=url + API, headers=live_server.headers) as api:
        created = _printed(run_cli(url, "--json", "namespace", "create", "risk"))
        assert created == _as_printed(api.get("/namespaces/risk").json())
        pem = _public_key(tmp_path / "release.pub")
        added = _printed(run_cli(url, "--json", "keys", "add", "risk", "release", str(pem)))
        assert added == _as_printed(api.get("/namespaces/risk/keys").json()["items"][0])
        required = _printed(run_cli(url, "--json", "namespace", "require-signature", "risk"))
        assert json.loads(required)["require_signature"] is True
        assert required == _as_printed(api.get("/namespaces/risk").json())

        with ThreadPoolExecutor(max_workers=3) as pool:
            listed, keys, dropped = pool.map(
                lambda argv: _printed(run_cli(url, "--json", *argv)),
                [
                    ("namespace", "ls"),
                    ("keys", "list", "risk"),
                    ("namespace", "require-signature", "default", "--off"),
                ],
            )
        assert listed == _as_printed(api.get("/namespaces").json()["items"])
        assert keys == _as_printed(api.get("/namespaces/risk/keys").json()["items"])
        assert dropped == _as_printed(api.get("/namespaces/default").json())


def test_version_commands_print_the_servers_answer(live_server: LiveServer, tmp_path: Path) -> None:
    url = live_server.url
    source = tmp_path / "source"
    (source / "conf").mkdir(parents=True)
    (source / "weights.bin").write_bytes(b"weights " * 1000)
    (source / "conf" / "config.json").write_text('{"layers": 4}\n')
    pushed = _printed(
        run_cli(
            url, "--json", "push", "fraud", str(source), "--metric", "auc=0.93",
            "--param", "lr=0.01", "--tag", "team=risk", "--description", "naïve ✓",
            cache_dir=tmp_path / "cache",
        )
    )  # fmt: skip
    with httpx.Client(base_url=url + API, headers=live_server.headers) as api:
        version = api.get("/models/default/fraud/versions/1")
        answer = version.json()
        # The registration's answer is the version before its validations (and the waivers of
        # its scan) are read.
        read = ("validations", "waivers")
        assert pushed == _as_printed({k: v for k, v in answer.items() if k not in read})
        wait_for(
            lambda: "pending" not in api.get("/resolve", params={"ref": "fraud:1"}).text or None,
            "the version's validations",
        )
        with ThreadPoolExecutor(max_workers=5) as pool:
            shown, listed, found, validations, pulled = pool.map(
                lambda argv: _printed(run_cli(url, "--json", *argv, cache_dir=tmp_path / "pull")),
                [
                    ("show", "fraud:1"),
                    ("ls", "default/fraud"),
                    ("search", "name = 'fraud' AND metrics.auc >= 0.9"),
                    ("validations", "fraud:1"),
                    ("pull", "fraud:1", str(tmp_path / "dest")),
                ],
            )
        resolved = api.get("/resolve", params={"ref": "fraud:1"}).json()
        assert shown == _as_printed(resolved)
        listing = api.get("/models/default/fraud/versions").json()["items"]
        assert listed == _as_printed(listing)
        search = api.get("/versions", params={"filter": "name = 'fraud'"}).json()["items"]
        assert found == _as_printed(search)
        checks = api.get("/models/default/fraud/versions/1/validations").json()["items"]
        assert validations == _as_printed(checks)
        assert pulled == _as_printed({**resolved, "signature_check": {"status": "unsigned"}})


def test_governance_commands_print_the_servers_answer(
    live_server: LiveServer, tmp_path: Path
) -> None:
    url = live_server.url
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights " * 1000)
    _printed(run_cli(url, "push", "fraud", str(source), cache_dir=tmp_path / "cache"))
    recorded = _printed(
        run_cli(
            url, "--json", "deploy", "record", "fraud:1", "--target", "dev",
            "--strategy", "canary", "--weight", "10", "--load-time-ms", "850",
        )
    )  # fmt: skip
    with httpx.Client(base_url=url + API, headers=live_server.headers) as api:
        version = "/models/default/fraud/versions/1"
        assert recorded == _as_printed(api.get(version + "/deployments").json()["items"][0])
        with ThreadPoolExecutor(max_workers=4) as pool:
            checked, deployments, policy, approvals = pool.map(
                lambda argv: _printed(run_cli(url, "--json", *argv)),
                [
                    ("promote", "fraud:1", "staging", "--check"),
                    ("deployments", "--namespace", "default"),
                    ("policy", "show", "default/fraud"),
                    ("approvals", "default", "--all"),
                ],
            )
        decision = api.get(version + "/decision", params={"target": "staging"}).json()
        assert checked == _as_printed(decision)
        listed = api.get("/namespaces/default/deployments").json()["items"]
        assert deployments == _as_printed(listed)
        assert policy == _as_printed(api.get("/models/default/fraud/policy").json())
        requests = api.get("/namespaces/default/approvals", params={"status": ""}).json()
        assert approvals == _as_printed(requests["items"])


def test_model_alias_identity_audit_and_webhook_commands_print_the_servers_answer(
    live_server: LiveServer, tmp_path: Path
) -> None:
    url = live_server.url
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights " * 1000)
    _printed(run_cli(url, "push", "fraud", str(source), cache_dir=tmp_path / "cache"))
    moved = _printed(run_cli(url, "--json", "alias", "set", "fraud", "champion", "1"))
    then = datetime.now(UTC).isoformat()
    added = _printed(run_cli(url, "--json", "user", "add", "alice", "--role", "default=reader"))
    issued = json.loads(
        _printed(run_cli(url, "--json", "token", "create", "ci", "--for", "alice", "--days", "30"))
    )
    hooked = json.loads(
        _printed(
            run_cli(
                url, "--json", "webhook", "add", "default", "https://ci.example/hook",
                "--event", "model.delete",
            )
        )
    )  # fmt: skip
    rotated = json.loads(_printed(run_cli(url, "--json", "audit", "rotate-key")))
    token_id = issued["token"]["token_id"]
    revoked = _printed(run_cli(url, "--json", "token", "revoke", token_id))
    with httpx.Client(base_url=url + API, headers=live_server.headers) as api:
        model = "/models/default/fraud"
        again = api.put(model + "/aliases/champion", json={"version": 1})  # names it as it is
        assert moved == _as_printed(again.json())
        users = api.get("/principals", params={"kind": "user"}).json()["items"]
        assert added == _as_printed(next(u for u in users if u["name"] == "alice"))
        [token] = api.get("/tokens", params={"principal": "alice"}).json()["items"]
        assert revoked == _as_printed(token) and token["revoked_at"] is not None
        assert issued["token"] == {**token, "revoked_at": None} and issued["secret"]
        [hook] = api.get("/namespaces/default/webhooks").json()["items"]
        assert hooked["webhook"] == hook and hooked["secret"]
        newest = api.get("/audit/keys").json()["items"][-1]  # the key rotate-key announced
        assert {k: rotated[k] for k in newest} == newest
        assert set(rotated) == {*newest, "previous_public_key"}
        with ThreadPoolExecutor(max_workers=4) as pool:
            models, history, at, me, users_listed, hooks, keys, log = pool.map(
                lambda argv: _printed(run_cli(url, "--json", *argv)),
                [
                    ("ls",),
                    ("alias", "history", "fraud"),
                    ("alias", "at", "fraud", "champion", then),
                    ("whoami",),
                    ("user", "list"),
                    ("webhook", "list", "default"),
                    ("audit", "keys"),
                    ("audit", "log", "--limit", "1000"),
                ],
            )
        assert models == _as_printed(api.get("/models").json()["items"])
        assert history == _as_printed(api.get(model + "/alias-history").json()["items"])
        assert at == _as_printed(api.get(model + "/aliases/champion", params={"at": then}).json())
        assert me == _as_printed(api.get("/whoami").json())
        assert users_listed == _as_printed(users)
        assert hooks == _as_printed([hook])
        assert keys == _as_printed(api.get("/audit/keys").json()["items"])
        entries = api.get("/audit/entries", params={"limit": 1000}).json()["items"]
        assert log == _as_printed(entries)
