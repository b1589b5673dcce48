"""The edge rules as a user meets them at the command line, against a real server: what the CLI
reads and sends is held to the same rules as what the server reads."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.client import Client
from cairn.errors import InvalidReference
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


def _scan_of(server: LiveServer, ref: str) -> dict[str, Any]:
    namespace, _, rest = ref.partition("/")
    model, _, number = rest.partition(":")
    url = f"{server.url}/api/v1/models/{namespace}/{model}/versions/{number}/validations"
    history = httpx.get(url, headers=server.headers).json()["items"]
    scan: dict[str, Any] = [v for v in history if v["name"] == "scan"][-1]
    return scan


def test_archive_members_named_against_the_path_rule_are_scan_warnings(
    live_server: LiveServer, tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("./weights/", b"")  # how a folder is written: not a finding
        archive.writestr("weights/layer.bin", b"fine")
        archive.writestr("weights/C:evil.bin", b"a drive letter after the first segment")
        archive.writestr("model\u202enib.exe", b"shows as modelexe.bin")
        archive.writestr("logs/con.txt", b"a device on Windows")
    (folder / "bundle.zip").write_bytes(buffer.getvalue())
    done = run_cli(live_server.url, "--json", "push", "default/zipped", str(folder))
    assert done.returncode == 0, done.stderr
    scan = _scan_of(live_server, json.loads(done.stdout)["ref"])
    assert scan["status"] == "warnings", scan
    findings = scan["details"]["findings"]
    assert {(f["kind"], f["severity"]) for f in findings} == {("unsafe_member_path", "warning")}
    assert len(findings) == 3, findings


def test_a_folder_holding_a_name_against_the_path_rule_is_not_pushed(
    live_server: LiveServer, tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    (folder / "logs").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"weights")
    (folder / "logs" / "run:1.txt").write_text("a colon: an NTFS stream on Windows")
    done = run_cli(live_server.url, "push", "default/colon", str(folder))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "unsafe_path" in done.stderr and "':'" in done.stderr
    found = httpx.get(f"{live_server.url}/api/v1/models/default/colon", headers=live_server.headers)
    assert found.status_code == 404


SELECTED = ["m:1", "m@prod", "m:latest", "default/m:1", "default/m@prod", "M:2"]


def _versions_of_m(server: LiveServer) -> list[int]:
    url = f"{server.url}/api/v1/models/default/m/versions"
    items = httpx.get(url, headers=server.headers).json()["items"]
    return sorted(v["number"] for v in items)


def test_a_reference_with_a_selector_where_a_model_is_wanted_is_a_usage_error(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """``cairn push m:1 DIR`` used to make version 2 of m: the selector was dropped."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"weights")
    first = run_cli(live_server.url, "push", "m", str(folder), "--no-provenance")
    assert first.returncode == 0, first.stderr
    assert run_cli(live_server.url, "alias", "set", "m", "prod", "1").returncode == 0
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(json.dumps({"states": {"production": {"approvals": 1}}}))
    for ref in SELECTED:
        for args in [
            ("push", ref, str(folder), "--no-provenance"),
            ("alias", "set", ref, "canary", "1"),
            ("alias", "history", ref),
            ("alias", "rm", ref, "prod"),
            ("ls", ref if "/" in ref else f"default/{ref}"),
            ("policy", "set", ref if "/" in ref else f"default/{ref}", str(policy_file)),
        ]:
            done = run_cli(live_server.url, *args)
            assert done.returncode == 2, (args, done.stdout, done.stderr)
            assert "selects a version" in done.stderr, (args, done.stderr)
    assert _versions_of_m(live_server) == [1]
    first_version = f"{live_server.url}/api/v1/models/default/m/versions/1"
    assert httpx.get(first_version, headers=live_server.headers).json()["aliases"] == ["prod"]


def test_the_sdk_refuses_a_selector_where_a_model_is_wanted(
    live_server: LiveServer, tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"weights")
    with Client(live_server.url, progress=False, cache_dir=tmp_path / "cache") as cairn:
        cairn.push("m", folder, capture_provenance=False)
        calls: list[Callable[[str], object]] = [
            lambda ref: cairn.push(ref, folder, capture_provenance=False),
            lambda ref: cairn.create_model(ref),
            cairn.get_model,
            lambda ref: cairn.update_model(ref, description="x"),
            cairn.delete_model,
            lambda ref: list(cairn.versions(ref)),
            lambda ref: cairn.set_alias(ref, "canary", 1),
            lambda ref: cairn.delete_alias(ref, "canary"),
            cairn.alias_history,
            lambda ref: cairn.policy(ref if "/" in ref else f"default/{ref}"),
        ]
        for ref in SELECTED:
            for call in calls:
                with pytest.raises(InvalidReference, match="selects a version"):
                    call(ref)
    assert _versions_of_m(live_server) == [1]


def test_the_api_refuses_a_selector_in_a_model_name(live_server: LiveServer) -> None:
    """Where the API takes a model's name on its own, a selector is not part of any name."""
    headers = live_server.headers
    with httpx.Client(base_url=live_server.url, headers=headers) as http:
        data = b"weights"
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        assert (
            http.put(f"/api/v1/namespaces/default/blobs/{digest}", content=data).status_code == 201
        )
        files = {"files": [{"path": "w.bin", "size": len(data), "digest": digest}]}
        for name in ["m:1", "m@prod", "m:latest"]:
            for method, url, body in [
                ("POST", "/api/v1/models/default", {"name": name}),
                ("POST", f"/api/v1/models/default/{name}/versions", {"manifest": files}),
                ("GET", f"/api/v1/models/default/{name}", None),
                ("POST", "/api/2.0/mlflow/registered-models/create", {"name": name}),
            ]:
                response = http.request(method, url, json=body)
                assert response.status_code == 400, (method, url, response.text)
                assert response.headers["cairn-error-code"] in ("invalid_name", "invalid_reference")
