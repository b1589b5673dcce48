"""Waiving one finding of one version's scan, with a reason (``cairn.domain.scanning.waivers``).

An approver of the version's namespace who is not its author waives a finding by its id. The
waiver is a new result of Cairn's ``scan`` validation (the history keeps the one before),
whose status is what the findings not waived amount to, and a ``scan.waive`` audit entry
naming the finding, its kind and file, the reason and the resulting status, in the same
transaction. Every gate reads the newest scan, so a waived blocking finding no longer blocks
the version, and a waived warning no longer needs a policy that accepts warnings.
"""

from __future__ import annotations

from typing import Any

from cairn.domain.names import canonical_key
from cairn.domain.records import Validation
from cairn.domain.references import Reference
from cairn.domain.scanning.waivers import apply_waivers, finding_key
from cairn.errors import InvalidInput, NotFound, PermissionDenied
from cairn.services.auth import Actor, Permission
from cairn.services.builtin_validations import SCAN, BuiltinValidations, Outcome, newest_scan
from cairn.services.resolve import get_model, get_version
from cairn.services.uow import Database, UnitOfWork

REASON_MAX = 2000


class WaiverService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def waive(self, actor: Actor, ref: Reference, finding: str, reason: str) -> Validation:
        """Waive ``finding`` (its id, as the scan's details list it) on the version ``ref``."""
        if not isinstance(finding, str) or not 1 <= len(finding) <= 64:
            raise InvalidInput("a finding is named by its id, as the scan's findings list it")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > REASON_MAX:
            raise InvalidInput(f"a waiver's reason is text of 1-{REASON_MAX} characters")
        with self.db.write(actor, Permission.APPROVE, ref.namespace) as uow:
            # One waiver (or new scan result) of a model at a time: each builds on the newest.
            get_model(uow.store, ref.namespace, ref.model, lock=True)
            version = get_version(uow.store, ref, with_files=False)
            if canonical_key(actor.name) == canonical_key(version.author):
                raise PermissionDenied(
                    f"{actor.name} is the author of {version.ref} and may not waive its findings"
                )
            scan = newest_scan(uow.store, version.id)
            if scan is None or scan.status in ("pending", "running"):
                raise InvalidInput(f"{version.ref} has no finished scan to waive a finding of")
            found = [f for f in scan.details.get("findings") or [] if finding_key(f) == finding]
            if not found:
                raise NotFound(f"the scan of {version.ref} has no finding {finding}")
            waivers: dict[str, Any] = dict(scan.details.get("waivers") or {})
            waivers[finding] = {"by": actor.name, "reason": reason.strip(), "at": _iso(uow)}
            status, details = apply_waivers(scan.status, scan.details, waivers)
            BuiltinValidations.record(uow, version.id, [Outcome(SCAN, status, details)])
            uow.record(
                "scan.waive",
                version.ref,
                finding=finding,
                kind=found[0].get("kind"),
                file=found[0].get("file"),
                severity=found[0].get("severity"),
                reason=reason.strip(),
                status=status,
            )
            return uow.store.validations.history(version.id)[-1]


def _iso(uow: UnitOfWork) -> str:
    return uow.now.isoformat().replace("+00:00", "Z")
