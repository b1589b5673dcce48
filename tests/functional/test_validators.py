"""Who may post a validation, played by the people who would try to get around it: a writer who
overwrites Cairn's built-in validations, the author who validates her own version, an admin who
is not named, and the CI account the policy names — each with their own token, through the CLI
(which is the SDK) against a live server, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cairn.client import Client
from cairn.errors import ReservedValidation, ValidatorNotAllowed
from tests.conftest import start_live_server
from tests.functional.test_governance import Team

POLICY: dict[str, Any] = {
    "states": {
        "staging": {"required_validations": ["fairness"]},
        "production": {
            "rules": [{"name": "came through staging", "expr": 'state == "staging"'}],
            "required_validations": ["completeness", "fairness"],
        },
    },
    "validators": {"fairness": {"principals": ["ci-bot"]}},
}


@pytest.fixture
def team(tmp_path: Path, database_url: str) -> Iterator[Team]:
    server = start_live_server(tmp_path, database_url)
    people = Team(server, tmp_path)
    # The CI service account reads the namespace and nothing more: the policy alone lets it
    # post the validation it names.
    people.cli("admin", "service-account", "add", "ci-bot", "--role", "default=reader")
    made = people.json("admin", "token", "create", "t", "--for", "ci-bot")
    people.tokens["ci-bot"] = made["secret"]
    yield people
    server.stop()


def _push(team: Team, who: str = "alice") -> str:
    folder = team.tmp / f"model-{len(list(team.tmp.iterdir()))}"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"w" * 1024)
    pushed = team.json(who, "push", "default/fraud", str(folder), "--no-provenance")
    return f"default/fraud:{pushed['number']}"


def _set_policy(team: Team, policy: dict[str, Any]) -> None:
    path = team.tmp / "policy.json"
    path.write_text(json.dumps(policy))
    team.cli("admin", "policy", "set", "default", str(path))


def test_nobody_writes_cairn_s_own_checks_and_a_forged_one_cannot_pass_a_gate(
    team: Team,
) -> None:
    _set_policy(team, POLICY)
    ref = _push(team)
    shown = team.json("alice", "show", ref)
    assert shown["completeness"]["score"] < 0.5 and shown["validations"]["completeness"] == "failed"

    # The writer, and even the global admin, are refused on every built-in validation.
    for who in ("alice", "admin"):
        for name in ("completeness", "integrity", "scan", "signature"):
            refused = team.cli(who, "validate", ref, name, "passed", code=5)
            assert "reserved_validation" in refused.stderr, refused.stderr
    sdk = Client(team.server.url, team.tokens["alice"], progress=False)
    with sdk, pytest.raises(ReservedValidation):
        sdk.validate(ref, "completeness", "passed")
    history = team.json("alice", "validations", ref)
    assert [(v["name"], v["status"], v["created_by"]) for v in history] == [
        ("integrity", "passed", "cairn"),
        ("completeness", "failed", "cairn"),
        ("signature", "unsigned", "cairn"),
        ("scan", "clean", "cairn"),
    ]

    # CI posts fairness; staging passes; production stays denied: Cairn's completeness failed.
    posted = team.cli("ci-bot", "validate", ref, "fairness", "passed")
    assert "posted by ci-bot" in posted.stdout
    team.cli("alice", "promote", ref, "staging")
    denied = team.cli("alice", "promote", ref, "production", code=8)
    assert "validation completeness: completeness is failed" in denied.stderr, denied.stderr
    assert team.json("alice", "show", ref)["state"] == "staging"


def test_the_policy_names_who_posts_a_required_validation_and_never_the_author(
    team: Team,
) -> None:
    ref = _push(team)
    # Before any policy governs fairness, the author posts it; that result will not count.
    team.cli("alice", "validate", ref, "fairness", "passed")
    _set_policy(team, POLICY)
    denied = team.cli("lead", "promote", ref, "staging", code=8)
    assert "validation fairness: fairness has no result" in denied.stderr, denied.stderr

    # Now the author is refused, as a writer and as a namespace admin.
    refused = team.cli("alice", "validate", ref, "fairness", "passed", code=5)
    assert "validator_not_allowed" in refused.stderr and "author" in refused.stderr
    team.cli("admin", "role", "grant", "alice", "default", "admin")
    refused = team.cli("alice", "validate", ref, "fairness", "passed", code=5)
    assert "validator_not_allowed" in refused.stderr
    team.cli("admin", "role", "grant", "alice", "default", "writer")
    # Someone the policy does not name is refused, whatever their role.
    for who in ("lead", "carol", "ci", "admin"):
        refused = team.cli(who, "validate", ref, "fairness", "passed", code=5)
        assert "validator_not_allowed" in refused.stderr and "ci-bot" in refused.stderr
    sdk = Client(team.server.url, team.tokens["lead"], progress=False)
    with sdk, pytest.raises(ValidatorNotAllowed):
        sdk.validate(ref, "fairness", "passed")

    # The CI account the policy names posts it, and the promotion passes.
    posted = team.json("ci-bot", "validate", ref, "fairness", "passed", "--metric", "dp=0.02")
    assert posted["created_by"] == "ci-bot"
    done = team.json("lead", "promote", ref, "staging")
    assert done["applied"] is True
    history = team.json("lead", "validations", ref)
    assert [(v["name"], v["created_by"]) for v in history if v["name"] == "fairness"] == [
        ("fairness", "alice"),
        ("fairness", "ci-bot"),
    ]
    listed = team.cli("lead", "validations", ref)
    assert "posted by" in listed.stdout and "ci-bot" in listed.stdout

    # A validation nobody governs is still any writer's, the author's included.
    team.cli("alice", "validate", ref, "smoke", "passed")
    team.cli("ci-bot", "validate", ref, "smoke", "passed", code=5)  # a reader, not named


def test_a_rule_that_reads_validations_never_reads_the_author_s_and_show_says_what_counts(
    team: Team,
) -> None:
    ref = _push(team)
    team.cli("alice", "validate", ref, "fairness", "passed")  # before any policy: allowed
    # No required_validations and no validators: only a rule reads the result.
    rule = {"name": "fair", "expr": 'validations.fairness.status == "passed"'}
    _set_policy(team, {"states": {"staging": {"rules": [rule]}}})
    assert "fairness" not in team.json("lead", "show", ref)["validations"]
    denied = team.cli("alice", "promote", ref, "staging", code=8)
    assert "policy_violation" in denied.stderr and "could not be evaluated" in denied.stderr
    # A rule may read any name, so the author posts none of them now.
    for name in ("fairness", "smoke"):
        refused = team.cli("alice", "validate", ref, name, "passed", code=5)
        assert "validator_not_allowed" in refused.stderr and "author" in refused.stderr

    team.cli("ci", "validate", ref, "fairness", "passed")
    assert team.json("lead", "show", ref)["validations"]["fairness"] == "passed"
    assert team.json("alice", "promote", ref, "staging")["applied"] is True


def test_a_validation_name_has_no_look_alike_of_another(team: Team) -> None:
    ref = _push(team)
    refused = team.cli("ci", "validate", ref, "Scan", "passed", code=5)
    assert "reserved_validation" in refused.stderr, refused.stderr
    for look_alike in ("scan ", "\u0455can", "scan\u200b", "SCAN\u202e"):
        refused = team.cli("ci", "validate", ref, look_alike, "passed", code=2)
        assert "invalid_input" in refused.stderr, refused.stderr
    # Posted in any case, a name is one name: the newest result wins.
    team.cli("ci", "validate", ref, "Fairness", "failed")
    team.cli("ci", "validate", ref, "fairness", "passed")
    shown = team.json("alice", "show", ref)["validations"]
    assert sorted(shown) == ["completeness", "fairness", "integrity", "scan", "signature"]
    assert shown["fairness"] == "passed" and shown["scan"] == "clean"
    # A policy names validations the same way.
    _set_policy(team, {"validators": {"Fairness": {"principals": ["ci-bot"]}}})
    refused = team.cli("ci", "validate", ref, "fairness", "passed", code=5)
    assert "ci-bot" in refused.stderr
    path = team.tmp / "bad-policy.json"
    path.write_text(json.dumps({"states": {"staging": {"required_validations": ["scan "]}}}))
    team.cli("admin", "policy", "set", "default", str(path), code=2)
