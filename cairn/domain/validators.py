"""Who may post a validation: Cairn's built-in validations, and the posters a policy names.

Cairn writes ``BUILTIN_VALIDATIONS`` itself (at registration, on a re-run, in the
background); nobody posts them, not even a global admin, so a policy that requires one reads
Cairn's result. A policy's ``validators`` names, per validation, the principals and roles that
may post it::

    "validators": {"fairness": {"principals": ["ci-bot"], "roles": ["approver"]}}

A role stands for everyone whose rights in the namespace include that role's (an admin holds
every role). The version's author never posts a validation the policy governs (one it requires
in any state, names here, or a rule of it could read), whoever else she is.

A validation's name is a name like a model's (lower-cased ``[a-z0-9][a-z0-9._-]*``), so no case,
space, invisible or look-alike variant of another (``Scan``, ``scan ``, ``scan`` spelt with a
Cyrillic letter) can stand beside it in a listing: ``Scan`` *is* ``scan``, a built-in one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cairn.domain.names import canonical_key, normalize_name
from cairn.errors import InvalidInput, InvalidName

BUILTIN_VALIDATIONS = ("integrity", "completeness", "signature", "scan")
ROLE_NAMES = ("reader", "writer", "approver", "deployer", "admin")
VALIDATION_NAME_MAX = 100
POSTERS_MAX = 100


@dataclass(frozen=True, slots=True)
class Posters:
    """Who may post one validation: principals (by canonical key) and roles."""

    principals: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()

    def names(self, principal: str) -> bool:
        return canonical_key(principal) in self.principals


def check_validation_name(raw: object, what: str) -> str:
    """The normalised name (lower case) of a validation, or ``InvalidInput``."""
    if not isinstance(raw, str) or not 0 < len(raw) <= VALIDATION_NAME_MAX:
        raise InvalidInput(f"{what}: a validation's name is 1-{VALIDATION_NAME_MAX} characters")
    try:
        return normalize_name(raw, kind="validation name")
    except InvalidName as exc:
        raise InvalidInput(f"{what}: {exc.message}", value=raw) from None


def parse_validators(raw: object) -> Mapping[str, Posters]:
    """``{name: {principals?: [...], roles?: [...]}}``, each naming at least one poster."""
    if not isinstance(raw, dict) or len(raw) > POSTERS_MAX:
        raise InvalidInput("validators maps validation names to {principals, roles}")
    found: dict[str, Posters] = {}
    for name, posters in raw.items():
        name = check_validation_name(name, "validators")
        if name in BUILTIN_VALIDATIONS:
            raise InvalidInput(
                f"validators: {name} is one of Cairn's built-in validations; nobody else posts it"
            )
        found[name] = _posters(name, posters)
    return found


def _posters(name: str, raw: object) -> Posters:
    if not isinstance(raw, dict) or not raw or set(raw) - {"principals", "roles"}:
        raise InvalidInput(f"validators: {name} takes principals and/or roles")
    lists: dict[str, list[str]] = {}
    for key in ("principals", "roles"):
        value = raw.get(key, [])
        if not isinstance(value, list) or len(value) > POSTERS_MAX:
            raise InvalidInput(f"validators: {name}.{key} is a list of names")
        lists[key] = value
    if not lists["principals"] and not lists["roles"]:
        raise InvalidInput(f"validators: {name} names no principal and no role")
    roles = set()
    for role in lists["roles"]:
        if role not in ROLE_NAMES:
            raise InvalidInput(f"validators: {name}: a role is one of {', '.join(ROLE_NAMES)}")
        roles.add(role)
    principals = set()
    for principal in lists["principals"]:
        try:
            principals.add(canonical_key(normalize_name(principal, kind="principal")))
        except InvalidName as exc:
            raise InvalidInput(f"validators: {name}: {exc.message}") from None
    return Posters(frozenset(principals), frozenset(roles))
