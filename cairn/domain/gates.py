"""When a version is blocked: the gates that bind everyone downstream of a promotion.

A version is **blocked** — no alias moves to it, no rollout of it is recorded, no pull fetches
its manifest, unless an override is recorded (see ``cairn.services.gates``) — when any of:

    integrity   Cairn's integrity check failed or could not run (``failed``, ``error``)
    scan        the scan flagged a file or could not finish (``flagged``, ``error``)
    signature   the signature was checked and did not verify (``failed``)

or when it fails what its policy's gate for its state asks of its results (a version in
``staging`` or ``production`` is held to that state's gate at every use, not only when it was
promoted): a verified signature (``require_signature``), a clean scan (``require_clean_scan``;
with ``accept_scan_warnings``, a scan whose findings are only warnings counts as clean),
each of ``required_validations`` passed. Rules and approvals were decided by the promotion and
are not evaluated again (a rule such as ``state == "staging"`` only makes sense before it).

The policy's ``deployments`` section says which targets count as production — a rollout of a
version that is not in ``production`` is refused there unless ``allow_unpromoted``::

    "deployments": {"production_targets": ["prod", "prod-*"], "allow_unpromoted": false}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from cairn.errors import InvalidInput

if TYPE_CHECKING:
    from cairn.domain.lifecycle import Gate

FAILED = {"integrity": ("failed", "error"), "scan": ("flagged", "error"), "signature": ("failed",)}
GATED_STATES = ("staging", "production")
DEFAULT_PRODUCTION_TARGETS = (
    "prod",
    "prod-*",
    "prod_*",
    "production",
    "production-*",
    "production_*",
)
PATTERNS_MAX = 100


@dataclass(frozen=True, slots=True)
class Block:
    """One reason a version may not be used: the gate that holds and why."""

    gate: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"gate": self.gate, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class DeploymentRule:
    production_targets: tuple[str, ...] = DEFAULT_PRODUCTION_TARGETS
    allow_unpromoted: bool = False

    def is_production(self, target: str) -> bool:
        """Whether ``target`` counts as production (patterns as in a shell, any case)."""
        name = target.lower()
        return any(fnmatchcase(name, pattern.lower()) for pattern in self.production_targets)


def blocks(validations: Mapping[str, str], state: str, gate: Gate | None) -> tuple[Block, ...]:
    """Why a version whose newest validation statuses are ``validations`` and which is in
    ``state`` may not be used; empty when it may. ``gate`` is its policy's gate for ``state``."""
    found = [
        Block(name, f"the {name} check is {validations[name]}")
        for name, bad in FAILED.items()
        if validations.get(name) in bad
    ]
    if gate is None or state not in GATED_STATES:
        return tuple(found)
    failed = {b.gate for b in found}
    signature = validations.get("signature", "unsigned")
    if gate.require_signature and signature != "verified" and "signature" not in failed:
        found.append(
            Block("signature", f"the policy for {state} requires a verified signature: {signature}")
        )
    scan = validations.get("scan", "missing")
    if not scan_passes(gate, scan) and "scan" not in failed:
        found.append(Block("scan", f"the policy for {state} requires a clean scan: {scan}"))
    for name in gate.required_validations:
        status = validations.get(name)
        if status != "passed":
            found.append(
                Block(
                    f"validation {name}",
                    f"the policy for {state} requires {name} to pass: " + (status or "no result"),
                )
            )
    return tuple(found)


def scan_passes(gate: Gate, status: str) -> bool:
    """Whether a scan of ``status`` satisfies ``gate``."""
    if not gate.require_clean_scan:
        return True
    return status == "clean" or (gate.accept_scan_warnings and status == "warnings")


def parse_deployments(raw: object) -> DeploymentRule:
    """The policy's ``deployments`` section; ``InvalidInput`` says what is wrong."""
    if not isinstance(raw, dict) or set(raw) - {"production_targets", "allow_unpromoted"}:
        raise InvalidInput("deployments takes production_targets and allow_unpromoted")
    targets: Any = raw.get("production_targets", list(DEFAULT_PRODUCTION_TARGETS))
    if (
        not isinstance(targets, list)
        or len(targets) > PATTERNS_MAX
        or not all(isinstance(t, str) and 0 < len(t) <= 200 for t in targets)
    ):
        raise InvalidInput(
            f"deployments.production_targets is a list of at most {PATTERNS_MAX} target patterns"
        )
    allow = raw.get("allow_unpromoted", False)
    if type(allow) is not bool:
        raise InvalidInput("deployments.allow_unpromoted is true or false")
    return DeploymentRule(tuple(targets), allow)
