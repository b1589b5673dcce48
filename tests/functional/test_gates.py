"""Failed validations stop consumers (DESIGN §2.10), played by a team with separate tokens against a
live server: a version whose signature failed is not promoted, a flagged version gets no alias,
no rollout and no pull — through the CLI, the SDK, ``/api/v1``, ``/v2/`` and the MLflow routes —
unless an admin of the namespace overrides it with a reason, which the audit log keeps; and a
version that is not in production is not rolled out to a production target."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import bearer, start_live_server
from tests.functional.test_governance import Team, _keys

API = "/api/v1"


class _Exploit:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, ("echo pwned",))


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    server = start_live_server(tmp_path)
    people = Team(server, tmp_path)
    people.cli("admin", "user", "add", "rita", "--role", "default=reader")
    people.tokens["rita"] = people.json("admin", "token", "create", "t", "--for", "rita")["secret"]
    yield people
    server.stop()


def _push(team: Team, name: str, *, evil: bool = False, extra: tuple[str, ...] = ()) -> int:
    folder = team.tmp / name
    folder.mkdir()
    (folder / "weights.bin").write_bytes(f"weights of {name}\n".encode() * 64)
    if evil:
        (folder / "helper.pkl").write_bytes(pickle.dumps(_Exploit(), protocol=2))
    done = team.json("alice", "push", "default/fraud", str(folder), "--no-provenance", *extra)
    return int(done["number"])


def _overrides(team: Team) -> list[dict[str, Any]]:
    entries = team.json("admin", "audit", "log", "default/fraud", "--limit", "1000")
    return [e for e in entries if e["action"] == "gate.override"]


def test_a_version_whose_signature_failed_is_not_promoted(team: Team) -> None:
    _, trusted = _keys(team.tmp)
    team.cli("admin", "keys", "add", "default", "release", str(trusted))
    other = team.tmp / "other"
    other.mkdir()
    untrusted, _ = _keys(other)
    number = _push(team, "signed", extra=("--sign", str(untrusted)))
    denied = team.cli("alice", "promote", f"default/fraud:{number}", "staging", code=8)
    assert "policy_violation" in denied.stderr and "signature" in denied.stderr, denied.stderr
    shown = team.json("rita", "show", f"default/fraud:{number}")
    assert shown["state"] == "registered"
    assert shown["blocked"] == [{"gate": "signature", "reason": "the signature check is failed"}]
    # It can still be archived: taking a version out of use is never blocked.
    team.cli("alice", "archive", f"default/fraud:{number}")


def test_a_flagged_version_gets_no_alias_and_no_rollout_unless_an_admin_overrides(
    team: Team,
) -> None:
    flagged = _push(team, "flagged", evil=True)

    # Any alias, not only a protected one; and a production rollout: refused, exit 6.
    refused = team.cli("sre", "alias", "set", "default/fraud", "champion", str(flagged), code=6)
    assert "version_blocked" in refused.stderr and "scan" in refused.stderr, refused.stderr
    ref = f"default/fraud:{flagged}"
    refused = team.cli("sre", "deploy", "record", ref, "--target", "prod", code=6)
    assert "version_blocked" in refused.stderr and "flagged" in refused.stderr, refused.stderr
    refused = team.cli("sre", "deploy", "record", ref, "--target", "dev", code=6)
    assert "version_blocked" in refused.stderr
    # The deployer may not override; a failed rollout is always on the record.
    team.cli(
        "sre", "alias", "set", "default/fraud", "champion", str(flagged), "--override", "x", code=5
    )
    team.cli("sre", "deploy", "record", ref, "--target", "dev", "--outcome", "failed")
    assert team.json("rita", "deployments", ref)[0]["outcome"] == "failed"
    assert team.api("GET", "/models/default/fraud/aliases")["aliases"] == {}
    assert _overrides(team) == []
    assert team.json("rita", "show", ref)["blocked"][0]["gate"] == "scan"

    # The namespace admin overrides, with a reason; the audit log names gate, actor and reason.
    why = "incident 42: the pickle is our own, reviewed"
    team.cli("lead", "alias", "set", "default/fraud", "champion", str(flagged), "--override", why)
    team.cli("lead", "deploy", "record", ref, "--target", "dev", "--override", why)
    overrides = _overrides(team)
    assert [(o["actor"], o["payload"]["use"], o["payload"]["reason"]) for o in overrides] == [
        ("lead", "alias @champion", why),
        ("lead", "deployment to dev", why),
    ]
    assert all(o["payload"]["gates"][0]["gate"] == "scan" for o in overrides)


def test_a_version_not_in_production_is_not_rolled_out_to_production(team: Team) -> None:
    number = _push(team, "clean")
    ref = f"default/fraud:{number}"
    team.cli("alice", "promote", ref, "staging")
    refused = team.cli(
        "sre", "deploy", "record", ref, "--target", "prod", "--weight", "100", code=6
    )
    assert "production target" in refused.stderr and "staging" in refused.stderr, refused.stderr
    refused = team.cli("sre", "deploy", "record", ref, "--target", "Prod-EU", code=6)
    team.cli("sre", "deploy", "record", ref, "--target", "staging-eu", "--weight", "100")
    assert [d["target"] for d in team.json("rita", "deployments", ref)] == ["staging-eu"]

    # A policy that names its production targets, and one that allows unpromoted rollouts.
    policy = team.tmp / "policy.json"
    policy.write_text(json.dumps({"deployments": {"production_targets": ["live-*"]}}))
    team.cli("lead", "policy", "set", "default", str(policy))
    team.cli("sre", "deploy", "record", ref, "--target", "prod", "--weight", "100")
    team.cli("sre", "deploy", "record", ref, "--target", "live-eu", code=6)
    policy.write_text(json.dumps({"deployments": {"allow_unpromoted": True}}))
    team.cli("lead", "policy", "set", "default", str(policy))
    team.cli("sre", "deploy", "record", ref, "--target", "prod-eu", "--weight", "100")
    bad = team.tmp / "bad.json"
    bad.write_text(json.dumps({"deployments": {"allow_unpromoted": "yes"}}))
    assert "invalid_input" in team.cli("lead", "policy", "set", "default", str(bad), code=2).stderr


def test_pulling_a_flagged_version_exits_6_and_writes_nothing_without_an_override(
    team: Team,
) -> None:
    flagged = _push(team, "flagged", evil=True)
    ref = f"default/fraud:{flagged}"
    dest = team.tmp / "out"
    for who in ("rita", "sre", "lead"):
        refused = team.cli(who, "pull", ref, str(dest), code=6)
        assert "version_blocked" in refused.stderr and "scan" in refused.stderr, refused.stderr
        assert not dest.exists()
    team.cli("sre", "pull", ref, str(dest), "--override", "need it", code=5)
    assert not dest.exists() and _overrides(team) == []
    # ``show`` still tells a reader what the version is, and why it is blocked.
    shown = team.cli("rita", "show", ref).stdout
    assert "BLOCKED" in shown and "flagged" in shown

    why = "forensics on the flagged pickle"
    done = team.json("lead", "pull", ref, str(dest), "--override", why)
    assert done["number"] == flagged and (dest / "helper.pkl").exists()
    [override] = _overrides(team)
    assert (override["actor"], override["subject"], override["payload"]["use"]) == (
        "lead",
        ref,
        "pull",
    )
    assert override["payload"]["reason"] == why
    assert override["payload"]["gates"][0]["gate"] == "scan"


def test_the_manifest_of_a_flagged_version_is_refused_on_every_surface(team: Team) -> None:
    clean, flagged = _push(team, "clean"), _push(team, "flagged", evil=True)
    url = team.server.url
    deployer, admin = bearer(team.tokens["sre"]), bearer(team.tokens["lead"])
    surfaces = [
        f"{url}/v2/default/fraud/manifests/{{n}}",
        f"{url}{API}/models/default/fraud/versions/{{n}}",
        f"{url}{API}/resolve?ref=default/fraud:{{n}}",
        f"{url}/api/2.0/mlflow-artifacts/artifacts/_cairn/versions/default/fraud/{{n}}/weights.bin",
        f"{url}/api/2.0/mlflow-artifacts/artifacts?path=_cairn/versions/default/fraud/{{n}}",
    ]
    for surface in surfaces:
        assert httpx.get(surface.format(n=clean), headers=deployer).status_code == 200, surface
        refused = httpx.get(surface.format(n=flagged), headers=deployer)
        assert refused.status_code in (400, 403, 409), (surface, refused.text)
        assert "version_blocked" in refused.text or "blocked" in refused.text, refused.text
        assert (
            httpx.get(surface.format(n=flagged), headers=admin).status_code == refused.status_code
        )
    oci = httpx.get(surfaces[0].format(n=flagged), headers=deployer)
    assert oci.status_code == 403 and oci.json()["errors"][0]["code"] == "DENIED"
    # The deployer's override is not enough; the admin's is, and it is on the record.
    with_reason = {"Cairn-Override": "audit%20of%20the%20pickle"}
    assert (
        httpx.get(surfaces[0].format(n=flagged), headers={**deployer, **with_reason}).status_code
        == 403
    )
    served = httpx.get(surfaces[0].format(n=flagged), headers={**admin, **with_reason})
    assert served.status_code == 200, served.text
    [override] = _overrides(team)
    assert override["payload"]["reason"] == "audit of the pickle"
    assert override["actor"] == "lead" and override["payload"]["use"] == "pull"
