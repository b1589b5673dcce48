"""Validations: results posted about a version by CI or a validator, and Cairn's re-runs of
its built-in ones.

Who may post what (DESIGN §2.10): Cairn's built-in validations (``BUILTIN_VALIDATIONS``) are
written by Cairn alone; a validation the policy names in ``validators`` only by the principals
and roles it names (even without the writer role: a CI account needs no other right); any
other by a writer. The version's author never posts a validation the policy governs. And what
a policy reads follows the same rule (``counted``), so a result written before a policy
changed, or into the database by an older server, cannot satisfy it either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cairn.domain.lifecycle import Policy
from cairn.domain.metadata import DEFAULT_REQUIRED_FIELDS, completeness
from cairn.domain.names import canonical_key
from cairn.domain.records import Validation, Version
from cairn.domain.references import Reference
from cairn.domain.validators import BUILTIN_VALIDATIONS, check_validation_name
from cairn.errors import InvalidInput, ReservedValidation, ValidatorNotAllowed
from cairn.services.auth import GRANTS, SYSTEM, Actor, Permission, Role, authorize
from cairn.services.builtin_validations import (
    COMPLETENESS,
    BuiltinValidations,
    Outcome,
    carry_waivers,
)
from cairn.services.policies import policy_for
from cairn.services.resolve import get_model, get_version
from cairn.services.uow import Database
from cairn.storage.sql.store import MetadataStore

VALIDATION_STATUSES = ("passed", "failed", "error", "pending", "running", "skipped")
_FIELDS = frozenset({"name", "status", "metrics", "link", "details"})


class ValidationService:
    def __init__(self, db: Database, builtin_validations: BuiltinValidations) -> None:
        self.db = db
        self.builtin_validations = builtin_validations

    def add(self, actor: Actor, ref: Reference, fields: Mapping[str, Any]) -> Validation:
        """Record a result about a version (CI, a validator): ``{name, status, metrics?,
        link?, details?}``. Each post is a new run; the history is kept."""
        name, status, row = _parse(fields)
        if not actor.authenticated:
            authorize(actor, Permission.WRITE, ref.namespace)  # says who to be
        with self.db.write(actor, Permission.READ, ref.namespace) as uow:
            version = get_version(uow.store, ref, with_files=False)
            policy = policy_for(uow.store, get_model(uow.store, ref.namespace, ref.model))
            _may_post(actor, version, policy, name)
            uow.store.validations.add(
                [
                    {
                        "version_id": version.id,
                        "name": name,
                        "status": status,
                        "details": row,
                        "created_by": actor.name,
                        "created_at": uow.now,
                        "updated_at": uow.now,
                    }
                ]
            )
            uow.record("validation.add", version.ref, name=name, status=status, link=row["link"])
            return uow.store.validations.history(version.id)[-1]

    def rerun(self, actor: Actor, ref: Reference, name: str) -> Validation:
        """Run one of Cairn's built-in validations again (integrity, completeness, signature, scan);
        the new result joins the history. Large versions' byte-reading validations are queued."""
        if name not in BUILTIN_VALIDATIONS:
            raise InvalidInput(
                f"Cairn re-runs {', '.join(BUILTIN_VALIDATIONS)}; CI posts its own results"
            )
        authorize(actor, Permission.WRITE, ref.namespace)
        with self.db.read(actor, ref.namespace) as store:
            version = get_version(store, ref)
        outcome = None
        if name != COMPLETENESS:
            outcome = self.builtin_validations.rerun(name, version.namespace, version.files or ())
        with self.db.write(actor, Permission.WRITE, ref.namespace) as uow:
            # Serialised with waivers, so the waivers carried over are the newest.
            get_model(uow.store, version.namespace, version.model, lock=True)
            if outcome is None:
                model = get_model(uow.store, version.namespace, version.model)
                required = model.required_fields
                fields = DEFAULT_REQUIRED_FIELDS if required is None else required
                score, missing = completeness(_metadata(version), fields)
                status = "passed" if not missing else "failed"
                outcome = Outcome(COMPLETENESS, status, {"score": score, "missing": missing})
            outcome = carry_waivers(uow.store, version.id, outcome)
            self.builtin_validations.record(uow, version.id, [outcome])
            uow.record("validation.rerun", version.ref, name=name, status=outcome.status)
            return uow.store.validations.history(version.id)[-1]


def counted(history: Sequence[Validation], author: str, policy: Policy) -> dict[str, Validation]:
    """The newest result of each name that the policy may count: Cairn's built-in validations
    only as Cairn wrote them, and a governed validation never as the version's author posted
    it."""
    latest: dict[str, Validation] = {}
    for v in history:
        if v.name in BUILTIN_VALIDATIONS and v.created_by != SYSTEM.name:
            continue
        if policy.governs(v.name) and _same(v.created_by, author):
            continue
        latest[v.name] = v
    return latest


def counted_statuses(store: MetadataStore, version: Version) -> dict[str, str]:
    """The newest status of each result the version's policy counts, by name: what a summary
    shows and what every gate downstream (aliases, deployments, pulls) reads."""
    return {name: v.status for name, v in counted_results(store, version).items()}


def counted_results(store: MetadataStore, version: Version) -> dict[str, Validation]:
    policy = policy_for(store, get_model(store, version.namespace, version.model))
    return counted(store.validations.history(version.id), version.author, policy)


def waived_findings(scan: Validation | None) -> tuple[dict[str, Any], ...]:
    """The findings a version's scan result marks waived: id, file, kind, severity, message,
    and who waived it, when and why."""
    if scan is None:
        return ()
    return tuple(
        {k: f.get(k) for k in ("id", "file", "kind", "severity", "message")} | f["waived"]
        for f in scan.details.get("findings") or []
        if isinstance(f, dict) and isinstance(f.get("waived"), dict)
    )


def _may_post(actor: Actor, version: Version, policy: Policy, name: str) -> None:
    if policy.governs(name) and _same(actor.name, version.author):
        raise ValidatorNotAllowed(
            f"{actor.name} is the author of {version.ref} and may not post {name}, "
            "which its policy governs (separation of duties)",
            name=name,
        )
    posters = policy.validators.get(name)
    if posters is None:
        authorize(actor, Permission.WRITE, version.namespace)
        return
    if posters.names(actor.name) or any(
        _holds(actor, role, version.namespace) for role in posters.roles
    ):
        return
    named = sorted(posters.principals) + [f"role {r}" for r in sorted(posters.roles)]
    raise ValidatorNotAllowed(
        f"the policy of {version.namespace}/{version.model} lets only "
        f"{', '.join(named)} post {name}",
        name=name,
        posters=named,
    )


def _holds(actor: Actor, role: str, namespace: str) -> bool:
    """Whether the actor's rights in the namespace include every right of ``role``."""
    return all(actor.may(permission, namespace) for permission in GRANTS[Role(role)])


def _same(principal: str, other: str) -> bool:
    return canonical_key(principal) == canonical_key(other)


def _parse(fields: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    if not isinstance(fields, Mapping) or set(fields) - _FIELDS:
        raise InvalidInput(f"a validation is {{{', '.join(sorted(_FIELDS))}}}")
    name = check_validation_name(fields.get("name"), "a validation")
    if name in BUILTIN_VALIDATIONS:
        raise ReservedValidation(
            f"{name} is one of Cairn's built-in validations "
            f"({', '.join(BUILTIN_VALIDATIONS)}): only Cairn writes it; "
            f"ask for a new run with POST …/validations/{name}/rerun",
            name=name,
        )
    status = fields.get("status")
    if status not in VALIDATION_STATUSES:
        raise InvalidInput(f"a validation's status is one of {', '.join(VALIDATION_STATUSES)}")
    metrics = fields.get("metrics", {})
    if not isinstance(metrics, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in metrics.values()
    ):
        raise InvalidInput("a validation's metrics map names to numbers")
    link = fields.get("link")
    if link is not None and (not isinstance(link, str) or len(link) > 2000):
        raise InvalidInput("a validation's link is a URL")
    details = fields.get("details", {})
    if not isinstance(details, dict):
        raise InvalidInput("a validation's details are an object")
    return name, str(status), {"metrics": metrics, "link": link, **details}


def _metadata(version: Version) -> dict[str, Any]:
    return {
        "description": version.description,
        "provenance": version.provenance,
        "schema": version.schema,
        "metrics": version.metrics,
        "params": version.params,
        "tags": version.tags,
    }
