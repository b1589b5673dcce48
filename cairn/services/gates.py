"""The gates bind everyone downstream (DESIGN §2.10): aliases, deployment records and pulls
consult the version's validations and its policy (``cairn.domain.gates`` says when a version is
blocked), and refuse a blocked version with ``VersionBlocked`` unless an override is given.

An override is explicit and audited: a reason (text), accepted only from an admin of the
version's namespace, and recorded as a ``gate.override`` audit entry naming the use, every
gate it passed and the reason, in the same transaction as what it allowed (for a pull, in its
own transaction before the manifest is served). An override of a version that is not blocked
records nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from cairn.domain.gates import Block, blocks
from cairn.domain.records import Version
from cairn.errors import InvalidInput, VersionBlocked
from cairn.services.auth import Actor, Permission, authorize
from cairn.services.policies import policy_for
from cairn.services.resolve import get_model
from cairn.services.uow import Database, UnitOfWork
from cairn.services.validations import counted_statuses
from cairn.storage.sql.store import MetadataStore

OVERRIDE_MAX = 2000


def version_blocks(store: MetadataStore, version: Version) -> tuple[Block, ...]:
    """Why ``version`` may not be used now (empty: it may)."""
    policy = policy_for(store, get_model(store, version.namespace, version.model))
    statuses = version.validations
    if statuses is None:  # the results the policy counts, as its gates read them
        statuses = counted_statuses(store, version)
    return blocks(statuses, version.state, policy.gates.get(version.state))


def check_override(raw: object) -> str | None:
    """An override's reason as given on any surface: None (no override) or 1-2000 characters."""
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip() or len(raw) > OVERRIDE_MAX:
        raise InvalidInput(f"an override is a reason: text of 1-{OVERRIDE_MAX} characters")
    return raw.strip()


def enforce(
    uow: UnitOfWork,
    version: Version,
    action: str,
    override: str | None,
    extra: Sequence[Block] = (),
) -> None:
    """Inside a write: refuse ``action`` on a blocked version (``extra``: blocks the caller
    found too), or record the override that lets it through."""
    found = (*version_blocks(uow.store, version), *extra)
    if found:
        overrule(uow, version, action, found, override)


def overrule(
    uow: UnitOfWork, version: Version, action: str, found: Sequence[Block], override: str | None
) -> None:
    reason = check_override(override)
    if reason is None:
        raise refusal(version, action, found)
    authorize(uow.actor, Permission.ADMIN, version.namespace)
    uow.record(
        "gate.override",
        version.ref,
        use=action,
        gates=[b.to_dict() for b in found],
        reason=reason,
    )


def refusal(version: Version, action: str, found: Sequence[Block]) -> VersionBlocked:
    return VersionBlocked(
        f"{version.ref} is blocked from {action}: "
        + "; ".join(b.reason for b in found)
        + " (an admin of the namespace may override it, with a reason)",
        ref=version.ref,
        action=action,
        gates=[b.to_dict() for b in found],
    )


def allow_pull(
    db: Database, actor: Actor, version: Version, found: Sequence[Block], override: str | None
) -> None:
    """Before a surface serves the manifest of a version that ``found`` blocks: refuse, or
    record the override (in its own transaction, before a byte is served)."""
    if not found:
        return
    reason = check_override(override)
    if reason is None:
        raise refusal(version, "pull", found)
    with db.write(actor, Permission.ADMIN, version.namespace) as uow:
        overrule(uow, version, "pull", found, reason)
