"""Lifecycle states and policies as code: what must hold for a version to enter a state.

States: ``registered → staging → production → archived``; an archived version comes back only
through the same gates as any other. A policy (per namespace, a model may override it) says,
for each target state:

    rules                  CEL expressions over the version document, each named
    approvals              how many distinct approvers must approve (0: none)
    separation_of_duties   an approver is neither the version's author nor the requester
    require_signature      the version's signature must have verified
    require_clean_scan     the version's scan must be finished and clean
    accept_scan_warnings   with require_clean_scan: a scan with warnings only (code by value,
                           unknown globals; see ``cairn.domain.scanning``) counts as clean
    required_validations   validations whose newest result must be "passed"

and ``protected_aliases`` binds an alias to the state a version must be in to carry it;
``validators`` names who may post each validation (see ``cairn.domain.validators``);
``retention`` (``keep_last``, ``archive_after_days``, and the opt-in ``delete`` with its
``grace_hours``) says which old versions go: see ``cairn.services.retention``; ``deployments``
says which targets count as production (see ``cairn.domain.gates``, which also says when a
version is blocked from use).
Evaluation lists every check with pass/fail and the reason, and never raises on a rule that
cannot be evaluated (a missing key, a type error): that rule fails and says why.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cairn.domain.gates import DeploymentRule, blocks, parse_deployments, scan_passes
from cairn.domain.names import alias_key
from cairn.domain.policy_presets import expand_preset
from cairn.domain.scanning.results import scan_reason
from cairn.domain.validators import Posters, check_validation_name, parse_validators
from cairn.errors import InvalidInput

STATES = ("registered", "staging", "production", "archived")
INITIAL_STATE = "registered"
TARGETS = ("staging", "production", "archived")
# Where each state may go; leaving ``archived`` passes the target's gates like any promotion.
TRANSITIONS: dict[str, frozenset[str]] = {
    "registered": frozenset({"staging", "production", "archived"}),
    "staging": frozenset({"production", "archived"}),
    "production": frozenset({"archived"}),
    "archived": frozenset({"staging", "production"}),
}
RULES_MAX = 50
# A rule that names the document's ``validations`` (CEL has no other way to reach it).
_READS_VALIDATIONS = re.compile(r"\bvalidations\b")
EXPR_MAX = 2000

DEFAULT_POLICY: dict[str, Any] = {
    "states": {
        "staging": {
            "rules": [],
            "approvals": 0,
            "separation_of_duties": True,
            "require_signature": False,
            "require_clean_scan": True,
            # An MLflow PythonModel is code by value (a warning): the default lets it through;
            # a blocking finding keeps any version out whatever the gate (domain.gates).
            "accept_scan_warnings": True,
            "required_validations": [],
        },
        "production": {
            "rules": [
                {"name": "came through staging", "expr": 'state == "staging"'},
            ],
            # No approvals by default, so one person on the embedded default can promote;
            # a team states how many it needs in its own policy.
            "approvals": 0,
            "separation_of_duties": True,
            "require_signature": False,
            "require_clean_scan": True,
            "accept_scan_warnings": True,
            "required_validations": [],
        },
        "archived": {"rules": [], "approvals": 0},
    },
    "protected_aliases": {"production": "production", "staging": "staging"},
}


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    expr: str


@dataclass(frozen=True, slots=True)
class Gate:
    rules: tuple[Rule, ...] = ()
    approvals: int = 0
    separation_of_duties: bool = True
    require_signature: bool = False
    require_clean_scan: bool = False
    accept_scan_warnings: bool = False
    required_validations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Retention:
    keep_last: int | None = None  # versions older than the newest N go (see the rules)
    archive_after_days: int | None = None
    delete: bool = False  # keep_last deletes (after a planned round) instead of archiving
    grace_hours: float | None = None  # plan to deletion; None: CAIRN_RETENTION_GRACE_HOURS


@dataclass(frozen=True, slots=True)
class Policy:
    gates: Mapping[str, Gate]
    protected_aliases: Mapping[str, str]
    document: dict[str, Any] = field(compare=False)
    retention: Retention = Retention()
    validators: Mapping[str, Posters] = field(default_factory=dict)
    deployments: DeploymentRule = field(default_factory=DeploymentRule)
    any_transition: bool = False  # MLflow's: any state to any target, backwards too

    def gate(self, target: str) -> Gate:
        return self.gates.get(target, Gate())

    def governs(self, name: str) -> bool:
        """Whether this policy cares who posts validation ``name``: it is required in some
        state, named in ``validators``, or a rule reads ``validations`` at all (a rule may
        reach any name, by a field, an index or a macro, so then every name is governed).
        The version's author posts none of them, and none she posted counts."""
        if name in self.validators or _READS_VALIDATIONS.search(self._rules_text):
            return True
        return any(name in gate.required_validations for gate in self.gates.values())

    @property
    def _rules_text(self) -> str:
        return "\n".join(rule.expr for gate in self.gates.values() for rule in gate.rules)


@dataclass(frozen=True, slots=True)
class Check:
    check: str
    passed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "passed": self.passed, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's answer for one version and target: every check, and what it amounts to."""

    target: str
    checks: tuple[Check, ...]
    approvals_required: int
    approvals_counted: int

    @property
    def gates_pass(self) -> bool:
        """Everything but the approvals holds."""
        return all(c.passed for c in self.checks if c.check != "approvals")

    @property
    def allowed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def outcome(self) -> str:
        if self.allowed:
            return "allowed"
        return "needs_approval" if self.gates_pass else "denied"

    def reasons(self) -> list[str]:
        return [f"{c.check}: {c.reason}" for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "outcome": self.outcome,
            "checks": [c.to_dict() for c in self.checks],
            "approvals_required": self.approvals_required,
            "approvals_counted": self.approvals_counted,
        }


def parse_policy(document: object) -> Policy:
    """Check a policy document (or a preset's name, ``cairn.domain.policy_presets``) and
    compile its rules; ``InvalidInput`` says what is wrong."""
    document = expand_preset(document)
    if not isinstance(document, dict) or set(document) - {
        "states",
        "protected_aliases",
        "retention",
        "validators",
        "deployments",
        "transitions",
    }:
        raise InvalidInput(
            "a policy is {states, protected_aliases, retention, validators}: see the README"
        )
    states = document.get("states", {})
    if not isinstance(states, dict) or set(states) - set(TARGETS):
        raise InvalidInput(f"policy states are among {', '.join(TARGETS)}")
    gates = {target: _gate(target, raw) for target, raw in states.items()}
    aliases = document.get("protected_aliases", {})
    if not isinstance(aliases, dict) or not all(
        isinstance(a, str) and s in STATES for a, s in aliases.items()
    ):
        raise InvalidInput("protected_aliases maps alias names to states")
    retention = _retention(document.get("retention", {}))
    validators = parse_validators(document.get("validators", {}))
    deployments = parse_deployments(document.get("deployments", {}))
    protected = {alias_key(a): s for a, s in aliases.items()}  # any spelling of the alias
    transitions = document.get("transitions", "forward")
    if transitions not in ("forward", "any"):
        raise InvalidInput("transitions is 'forward' (the default) or 'any' (MLflow's)")
    return Policy(
        gates, protected, document, retention, validators, deployments, transitions == "any"
    )


RETENTION_FIELDS = ("keep_last", "archive_after_days", "delete", "grace_hours")
GRACE_HOURS_MAX = 24 * 366


def _retention(raw: object) -> Retention:
    if not isinstance(raw, dict) or set(raw) - set(RETENTION_FIELDS):
        raise InvalidInput(f"retention takes {', '.join(RETENTION_FIELDS)}")
    values: dict[str, Any] = {}
    for name, most in (("keep_last", 1_000_000), ("archive_after_days", 36_500)):
        value = raw.get(name)
        if value is not None and (type(value) is not int or not 1 <= value <= most):
            raise InvalidInput(f"retention {name} is a whole number from 1 to {most}")
        values[name] = value
    delete = raw.get("delete", False)
    if type(delete) is not bool:
        raise InvalidInput("retention delete is true or false")
    if delete and values["keep_last"] is None:
        raise InvalidInput("retention delete needs keep_last: it says which versions go")
    grace = raw.get("grace_hours")
    if grace is not None and (type(grace) not in (int, float) or not 0 <= grace <= GRACE_HOURS_MAX):
        raise InvalidInput(f"retention grace_hours is a number from 0 to {GRACE_HOURS_MAX}")
    return Retention(**values, delete=delete, grace_hours=None if grace is None else float(grace))


FLAGS = ("separation_of_duties", "require_signature", "require_clean_scan", "accept_scan_warnings")


def _gate(target: str, raw: object) -> Gate:
    allowed = {"rules", "approvals", "required_validations", *FLAGS}
    if not isinstance(raw, dict) or set(raw) - allowed:
        raise InvalidInput(f"the gate for {target} takes {', '.join(sorted(allowed))}")
    rules_raw = raw.get("rules", [])
    if not isinstance(rules_raw, list) or len(rules_raw) > RULES_MAX:
        raise InvalidInput(f"{target}: rules is a list of at most {RULES_MAX}")
    rules = tuple(_rule(target, r) for r in rules_raw)
    approvals = raw.get("approvals", 0)
    if type(approvals) is not int or not 0 <= approvals <= 20:
        raise InvalidInput(f"{target}: approvals is a number from 0 to 20")
    flags = {}
    for name in FLAGS:
        value = raw.get(name, name == "separation_of_duties")
        if type(value) is not bool:
            raise InvalidInput(f"{target}: {name} is true or false")
        flags[name] = value
    required = raw.get("required_validations", [])
    if not isinstance(required, list) or len(required) > RULES_MAX:
        raise InvalidInput(f"{target}: required_validations is a list of names")
    names = tuple(check_validation_name(v, f"{target}: required_validations") for v in required)
    return Gate(rules, approvals, required_validations=names, **flags)


def _rule(target: str, raw: object) -> Rule:
    if not isinstance(raw, dict) or set(raw) != {"name", "expr"}:
        raise InvalidInput(f"{target}: a rule is {{name, expr}}")
    name, expr = raw["name"], raw["expr"]
    if not isinstance(name, str) or not isinstance(expr, str) or not 0 < len(expr) <= EXPR_MAX:
        raise InvalidInput(f"{target}: a rule's name and expr are strings")
    from celpy.celparser import CELParseError

    try:
        _program(expr)
    except CELParseError as exc:
        raise InvalidInput(f"{target}: rule {name!r} is not valid CEL: {exc}") from exc
    return Rule(name, expr)


# CEL is loaded when a rule is first read, not when this module is: building the parser takes
# most of a second, which every command of the CLI (and every server start) would pay.
_PROGRAMS: dict[str, Any] = {}
_PROGRAMS_LOCK = threading.Lock()
_ENVIRONMENT: list[Any] = []  # the one celpy.Environment, once made


def _environment() -> Any:
    with _PROGRAMS_LOCK:
        if not _ENVIRONMENT:
            import celpy

            _ENVIRONMENT.append(celpy.Environment())
        return _ENVIRONMENT[0]


def _program(expr: str) -> Any:
    with _PROGRAMS_LOCK:
        found = _PROGRAMS.get(expr)
    if found is None:
        environment = _environment()
        found = environment.program(environment.compile(expr))
        with _PROGRAMS_LOCK:
            if len(_PROGRAMS) > 10_000:
                _PROGRAMS.clear()
            _PROGRAMS[expr] = found
    return found


def evaluate_rule(expr: str, activation: Mapping[str, Any]) -> tuple[bool, str]:
    """(passed, reason) of one CEL rule; an error or a non-boolean result fails it."""
    try:
        result = _program(expr).evaluate(activation)
    except Exception as exc:  # CEL errors come in several classes; each fails the rule
        return False, f"{expr} could not be evaluated: {_cel_message(exc)}"
    from celpy.celtypes import BoolType

    if isinstance(result, BoolType):
        return bool(result), f"{expr} is {'true' if result else 'false'}"
    return False, f"{expr} gave {type(result).__name__}, not a boolean"


def _cel_message(exc: Exception) -> str:
    if exc.args and isinstance(exc.args[0], str):
        return exc.args[0][:300]
    return str(exc)[:300]


def activation(document: Mapping[str, Any]) -> dict[str, Any]:
    """The version document as CEL values (each top-level key is a variable)."""
    from celpy.adapter import json_to_cel

    return {key: json_to_cel(value) for key, value in document.items()}


def evaluate(
    policy: Policy,
    target: str,
    document: Mapping[str, Any],
    approvers: set[str],
    requester: str,
) -> Decision:
    """Check a version (its ``document``: state, metrics, validations, …) against the gate of
    ``target``; ``approvers`` are those whose approvals count for this version and target."""
    gate = policy.gate(target)
    state = str(document.get("state"))
    checks = [_transition(state, target, policy.any_transition)]
    variables = activation(document)
    for rule in gate.rules:
        passed, reason = evaluate_rule(rule.expr, variables)
        checks.append(Check(f"rule {rule.name}", passed, reason))
    validations = document.get("validations", {})
    for name in gate.required_validations:
        status = validations.get(name, {}).get("status")
        checks.append(
            Check(
                f"validation {name}",
                status == "passed",
                f"{name} is {status}" if status else f"{name} has no result",
            )
        )
    if gate.require_signature:
        status = validations.get("signature", {}).get("status", "unsigned")
        checks.append(Check("signature", status == "verified", f"the signature is {status}"))
    if gate.require_clean_scan:
        scan = validations.get("scan", {})
        status = scan.get("status", "missing")
        checks.append(Check("scan", scan_passes(gate, status), scan_reason(scan)))
    if target != "archived":
        # A failed check blocks every use of the version, a promotion too, whatever the gate.
        statuses = {n: str(v.get("status")) for n, v in validations.items() if isinstance(v, dict)}
        failing = {c.check for c in checks if not c.passed}
        checks.extend(
            Check(b.gate, False, scan_reason(validations["scan"]) if b.gate == "scan" else b.reason)
            for b in blocks(statuses, state, None)
            if b.gate not in failing
        )
    counted = set(approvers)
    if gate.separation_of_duties:
        counted -= {str(document.get("author")), requester}
    checks.append(
        Check(
            "approvals",
            len(counted) >= gate.approvals,
            f"{len(counted)} of {gate.approvals} approvals"
            + (" (the author and the requester do not count)" if gate.separation_of_duties else ""),
        )
    )
    return Decision(target, tuple(checks), gate.approvals, len(counted))


def _transition(state: str, target: str, any_transition: bool = False) -> Check:
    if target in TRANSITIONS.get(state, frozenset()) or (any_transition and state != target):
        return Check("transition", True, f"{state} → {target} is allowed")
    return Check("transition", False, f"a version in {state} cannot go to {target}")


def check_target(raw: object) -> str:
    if raw not in TARGETS:
        raise InvalidInput(f"a version is promoted to {', '.join(TARGETS)}", target=str(raw)[:40])
    return str(raw)
