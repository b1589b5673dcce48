from __future__ import annotations

from typing import Any

import pytest

from cairn.domain.lifecycle import (
    DEFAULT_POLICY,
    activation,
    evaluate,
    evaluate_rule,
    parse_policy,
)
from cairn.domain.validators import ROLE_NAMES
from cairn.errors import InvalidInput
from cairn.services.auth import Role

DOC: dict[str, Any] = {
    "state": "staging",
    "author": "alice",
    "metrics": {"auc": 0.93},
    "params": {},
    "tags": {"team": "risk"},
    "provenance": {"code": {"commit": "abc"}},
    "validations": {
        "bias": {"status": "passed"},
        "scan": {"status": "clean"},
        "signature": {"status": "verified"},
    },
}


def _policy(**production: Any) -> Any:
    return parse_policy({"states": {"production": production}})


def test_the_default_policy_parses_and_needs_staging_and_a_clean_scan() -> None:
    policy = parse_policy(DEFAULT_POLICY)
    decision = evaluate(policy, "production", {**DOC, "state": "registered"}, set(), "alice")
    failed = {c.check for c in decision.checks if not c.passed}
    assert failed == {"rule came through staging"}
    assert decision.outcome == "denied"
    assert evaluate(policy, "production", DOC, set(), "alice").outcome == "allowed"
    flagged = {**DOC, "validations": {"scan": {"status": "flagged"}}}
    assert not evaluate(policy, "production", flagged, set(), "alice").allowed
    assert policy.protected_aliases == {"production": "production", "staging": "staging"}


def test_every_check_says_why() -> None:
    policy = _policy(
        rules=[{"name": "auc", "expr": "metrics.auc >= 0.95"}],
        approvals=2,
        require_signature=True,
        require_clean_scan=True,
        required_validations=["bias", "fairness"],
    )
    decision = evaluate(policy, "production", DOC, {"bob"}, "carol")
    reasons = {c.check: (c.passed, c.reason) for c in decision.checks}
    assert reasons["rule auc"] == (False, "metrics.auc >= 0.95 is false")
    assert reasons["validation bias"] == (True, "bias is passed")
    assert reasons["validation fairness"] == (False, "fairness has no result")
    assert reasons["signature"] == (True, "the signature is verified")
    assert reasons["scan"] == (True, "the scan is clean")
    assert reasons["approvals"][0] is False
    assert decision.to_dict()["outcome"] == "denied"


def test_only_missing_approvals_means_needs_approval() -> None:
    decision = evaluate(_policy(approvals=2), "production", DOC, {"bob"}, "carol")
    assert decision.outcome == "needs_approval"
    assert (decision.approvals_required, decision.approvals_counted) == (2, 1)


def test_the_author_and_the_requester_do_not_count_as_approvers() -> None:
    policy = _policy(approvals=1, separation_of_duties=True)
    assert not evaluate(policy, "production", DOC, {"alice", "carol"}, "carol").allowed
    assert evaluate(policy, "production", DOC, {"alice", "dave"}, "carol").allowed
    lenient = _policy(approvals=1, separation_of_duties=False)
    assert evaluate(lenient, "production", DOC, {"alice"}, "carol").allowed


def test_transitions_follow_the_lifecycle() -> None:
    policy = parse_policy({})
    assert not evaluate(policy, "staging", {**DOC, "state": "production"}, set(), "a").allowed
    assert evaluate(policy, "production", {**DOC, "state": "archived"}, set(), "a").allowed
    assert not evaluate(policy, "staging", DOC, set(), "a").allowed  # staging -> staging


@pytest.mark.parametrize(
    ("expr", "passed", "reason"),
    [
        ("metrics.auc >= 0.9", True, "metrics.auc >= 0.9 is true"),
        ('validations.fairness.status == "passed"', False, "could not be evaluated"),
        ("has(provenance.code.commit)", True, "is true"),
        ("metrics.auc", False, "not a boolean"),
        ("1 / 0 == 1", False, "could not be evaluated"),
    ],
)
def test_a_rule_that_cannot_be_evaluated_fails_and_says_why(
    expr: str, passed: bool, reason: str
) -> None:
    result = evaluate_rule(expr, activation(DOC))
    assert result[0] is passed and reason in result[1]


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"states": {"prod": {}}},
        {"states": {"production": {"rules": [{"name": "x", "expr": "metrics.auc >"}]}}},
        {"states": {"production": {"approvals": -1}}},
        {"states": {"production": {"approvals": True}}},
        {"states": {"production": {"require_signature": "yes"}}},
        {"states": {"production": {"color": "red"}}},
        {"protected_aliases": {"production": "live"}},
        {"retention": {"keep_last": 0}},
        {"extra": 1},
    ],
)
def test_a_bad_policy_is_refused_with_a_reason(document: Any) -> None:
    with pytest.raises(InvalidInput):
        parse_policy(document)


@pytest.mark.parametrize(
    "validators",
    [
        {"completeness": {"roles": ["writer"]}},  # built in: nobody else posts it
        {"fairness": {}},
        {"fairness": {"principals": [], "roles": []}},
        {"fairness": {"roles": ["ci"]}},
        {"fairness": {"principals": ["not a name"]}},
        {"fairness": {"principals": "ci"}},
        {"fairness": {"people": ["ci"]}},
        {"fairness": ["ci"]},
        {"": {"principals": ["ci"]}},
        [],
    ],
)
def test_a_bad_validators_section_is_refused(validators: Any) -> None:
    with pytest.raises(InvalidInput, match="validators"):
        parse_policy({"validators": validators})


def test_a_policy_governs_what_it_requires_and_what_its_validators_name() -> None:
    policy = parse_policy(
        {
            "states": {"production": {"required_validations": ["bias", "completeness"]}},
            "validators": {"fairness": {"principals": ["CI-Bot"], "roles": ["approver"]}},
        }
    )
    names = ("bias", "completeness", "fairness", "smoke")
    assert [n for n in names if policy.governs(n)] == ["bias", "completeness", "fairness"]
    posters = policy.validators["fairness"]
    assert posters.names("ci-bot") and posters.names("ci_bot") and not posters.names("ci")
    assert posters.roles == {"approver"}
    with pytest.raises(InvalidInput, match="required_validations"):
        parse_policy({"states": {"staging": {"required_validations": [""]}}})


def test_a_rule_that_reads_validations_governs_every_name() -> None:
    """A rule may reach any result (``validations["x"]``, ``validations.exists(…)``), so none
    the author posts may feed it."""
    for expr in (
        'validations.fairness.status == "passed"',
        'validations["bias-check"].status == "passed"',
        'validations.exists(k, validations[k].status == "failed") == false',
    ):
        policy = parse_policy({"states": {"staging": {"rules": [{"name": "r", "expr": expr}]}}})
        assert policy.governs("smoke") and policy.governs("anything")
    plain = parse_policy({"states": {"staging": {"rules": [{"name": "r", "expr": "size > 1"}]}}})
    assert not plain.governs("smoke")


def test_a_validation_name_is_normalised_and_has_no_look_alike() -> None:
    policy = parse_policy(
        {
            "states": {"staging": {"required_validations": ["Fairness"]}},
            "validators": {"Bias": {"roles": ["approver"]}},
        }
    )
    assert policy.gate("staging").required_validations == ("fairness",)
    assert set(policy.validators) == {"bias"}
    for bad in ("scan ", "\u0455can", "scan\u200b", "a/b", "-x"):
        with pytest.raises(InvalidInput):
            parse_policy({"states": {"staging": {"required_validations": [bad]}}})
    with pytest.raises(InvalidInput, match="Cairn's built-in validations"):
        parse_policy({"validators": {"Scan": {"roles": ["approver"]}}})


def test_the_roles_a_policy_may_name_are_cairn_s_roles() -> None:
    assert set(ROLE_NAMES) == {role.value for role in Role}


def test_the_mlflow_migration_preset_lets_a_version_go_anywhere_ungoverned() -> None:
    policy = parse_policy({"preset": "mlflow-migration"})
    assert policy.any_transition and not policy.protected_aliases
    unscanned = {**DOC, "state": "production", "validations": {}}
    for target in ("staging", "registered", "archived"):
        assert evaluate(policy, target, unscanned, set(), "alice").outcome == "allowed"
    # The default keeps states moving forward.
    assert evaluate(parse_policy(DEFAULT_POLICY), "staging", unscanned, set(), "a").outcome == (
        "denied"
    )


def test_a_failed_check_still_blocks_under_the_preset() -> None:
    policy = parse_policy({"preset": "mlflow-migration"})
    flagged = {**DOC, "validations": {"scan": {"status": "flagged"}}}
    assert evaluate(policy, "production", flagged, set(), "alice").outcome == "denied"


@pytest.mark.parametrize(
    "document",
    [
        {"preset": "nope"},
        {"preset": "mlflow-migration", "states": {}},
        {"preset": 3},
        {"transitions": "sideways"},
    ],
)
def test_an_unknown_preset_or_transition_rule_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        parse_policy(document)
