"""What an audit entry says about the records a mutation left behind, so that the log covers
the records themselves and not only the requests (DESIGN §2, invariant 12).

Each entry names the records its mutation touched (``"version risk/fraud:3"``) and, for each,
a digest per *field group* of the record as the transaction left it, or ``None`` when the
record no longer exists. A group's digest is ``sha256:`` of the RFC 8785 canonical JSON of
``{"kind", "group", "fields"}``, the fields drawn exactly as the API serves them, so the
server (when it writes the entry) and a client (when it compares the log with what the API
serves now) compute it with the same function from either side. The record's name is not in
the digest: a model's rename moves its claims (and its versions' and aliases') to the new
name, and the log itself says which record each digest is about.

The groups are chosen so that a difference is named usefully: a version's ``content`` (its
manifest), ``origin`` (who registered it, when, from what), ``evaluation`` (metrics, params,
schema, completeness), ``description`` (description and tags) and ``lifecycle`` (state).
Bookkeeping that no user decision sets (``updated_at``, a model's latest number) is left out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785

from cairn.domain.audit import entry_time
from cairn.domain.records import Model, Namespace, Version

Groups = dict[str, str]  # field group -> "sha256:<hex>"

GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "namespace": {
        "settings": ("description", "required_fields", "require_signature"),
        "origin": ("created_at",),
    },
    "model": {
        "profile": ("description", "card", "owner"),
        "tags": ("tags",),
        "origin": ("created_at",),
    },
    "version": {
        "content": ("manifest_digest", "size", "file_count"),
        "origin": ("author", "created_at", "provenance"),
        "evaluation": ("metrics", "params", "schema", "completeness"),
        "description": ("description", "tags"),
        "lifecycle": ("state",),
    },
    "alias": {"target": ("version",)},
}
# Groups that never change while a record exists: an entry whose digest of one differs from the
# record's previous entry shows an edit made outside Cairn in between, even though the later
# entry (committing to the state it found) vouches for the edited values.
IMMUTABLE: dict[str, tuple[str, ...]] = {
    "namespace": ("origin",),
    "model": ("origin",),
    "version": ("content", "origin", "evaluation"),
}
# The order in which a transaction reads (and on PostgreSQL locks) the records it touched:
# containers before what they contain, as the mutations themselves lock them.
KINDS = tuple(GROUPS)

_NAME = r"[^/@:\s]+"
_VERSION_REF = re.compile(rf"^{_NAME}/{_NAME}:[0-9]+$")
_ALIAS_REF = re.compile(rf"^{_NAME}/{_NAME}@{_NAME}$")
_MODEL_REF = re.compile(rf"^{_NAME}/{_NAME}$")
_NAMESPACE_REF = re.compile(rf"^{_NAME}$")
# JSON numbers RFC 8785 can write exactly; larger integers are drawn as tagged text instead.
_SAFE_INTEGER = 2**53 - 1


def record_key(kind: str, ref: str) -> str:
    return f"{kind} {ref}"


def split_key(key: str) -> tuple[str, str]:
    kind, _, ref = key.partition(" ")
    return kind, ref


def records_touched(action: str, subject: str, payload: Mapping[str, Any]) -> list[str]:
    """The records (keys) an entry of ``action`` on ``subject`` is about. Any entry whose
    subject is a version is about that version (its validations, approvals, deployments
    included: the version's state is committed to, changed or not)."""
    family = action.partition(".")[0]
    if family == "model" and _MODEL_REF.match(subject):
        if action == "model.rename":
            namespace = subject.partition("/")[0]
            return [record_key("model", f"{namespace}/{payload.get('new_name')}")]
        return [record_key("model", subject)]
    if family == "namespace" and _NAMESPACE_REF.match(subject):
        return [record_key("namespace", subject)]
    if family == "alias" and _ALIAS_REF.match(subject):
        return [record_key("alias", subject)]
    if _VERSION_REF.match(subject):
        return [record_key("version", subject)]
    return []


def digests(kind: str, fields: Mapping[str, Any]) -> Groups:
    """The digest of each field group of a record of ``kind`` whose fields (as the API draws
    them, times as ``entry_time`` text) are ``fields``."""
    return {
        group: _digest({"kind": kind, "group": group, "fields": {n: fields[n] for n in names}})
        for group, names in GROUPS[kind].items()
    }


def _digest(document: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(rfc8785.dumps(_canonical_numbers(document))).hexdigest()


def _canonical_numbers(value: Any) -> Any:
    """``value`` with integers beyond RFC 8785's exact range drawn as ``{"int": "<digits>"}``
    (a provenance's free-form ``extra`` may hold any JSON number)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) > _SAFE_INTEGER:
        return {"int": str(value)}
    if isinstance(value, dict):
        return {k: _canonical_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical_numbers(v) for v in value]
    return value


# ---------------------------------------------------------------- a record's fields, both sides
def _time(value: datetime | str) -> str:
    return entry_time(datetime.fromisoformat(value) if isinstance(value, str) else value)


def version_fields(v: Version | Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a version, from the server's record or the API's document of it."""
    if isinstance(v, Version):
        doc: Mapping[str, Any] = {
            "manifest_digest": v.manifest_digest,
            "size": v.size,
            "file_count": v.file_count,
            "author": v.author,
            "created_at": v.created_at,
            "provenance": v.provenance,
            "metrics": v.metrics,
            "params": v.params,
            "schema": v.schema,
            "completeness": {"score": v.completeness, "missing": v.missing_fields},
            "description": v.description,
            "tags": v.tags,
            "state": v.state,
        }
    else:
        doc = v
    names = {n for groups in GROUPS["version"].values() for n in groups}
    fields = {n: doc[n] for n in names}
    fields["created_at"] = _time(doc["created_at"])
    return fields


def model_fields(m: Model | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(m, Model):
        return {
            "description": m.description,
            "card": m.card,
            "owner": m.owner,
            "tags": m.tags,
            "created_at": _time(m.created_at),
        }
    return {
        "description": m["description"],
        "card": m["card"],
        "owner": m["owner"],
        "tags": m["tags"],
        "created_at": _time(m["created_at"]),
    }


def namespace_fields(ns: Namespace | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(ns, Namespace):
        return {
            "description": ns.description,
            "required_fields": ns.required_fields,
            "require_signature": ns.require_signature,
            "created_at": _time(ns.created_at),
        }
    return {
        "description": ns["description"],
        "required_fields": ns["required_fields"],
        "require_signature": ns["require_signature"],
        "created_at": _time(ns["created_at"]),
    }


def alias_fields(number: int) -> dict[str, Any]:
    return {"version": number}


# ---------------------------------------------------------------- replaying the log
@dataclass(frozen=True, slots=True)
class Claim:
    """What the log's latest entry about a record says of it: its group digests, ``None`` if
    the record was gone after that entry, and ``covered`` false for an entry written before
    entries carried digests (it says nothing about the state)."""

    groups: Groups | None
    covered: bool
    index: int
    action: str


class Replay:
    """The latest claim about each record, from entries fed in log order (each with
    ``index``, ``action``, ``subject``, ``payload`` and ``records``, as the API serves them).
    Fed one at a time, so a client checks a log of any length without keeping it."""

    def __init__(self) -> None:
        self.claims: dict[str, Claim] = {}
        self.rewritten: list[Finding] = []  # immutable groups that changed between entries

    def add(self, entry: Mapping[str, Any]) -> None:
        action, subject = entry["action"], entry["subject"]
        if action == "model.rename":
            _rename(self.claims, subject, entry["payload"].get("new_name"))
        records = entry.get("records")
        if records is None:
            for key in records_touched(action, subject, entry["payload"]):
                self.claims[key] = Claim(None, False, entry["index"], action)
            return
        for key, groups in records.items():
            claim = Claim(groups, True, entry["index"], action)
            self._check_immutable(key, self.claims.get(key), claim)
            self.claims[key] = claim

    def _check_immutable(self, key: str, before: Claim | None, after: Claim) -> None:
        if before is None or before.groups is None or after.groups is None:
            return
        fixed = IMMUTABLE.get(split_key(key)[0], ())
        changed = tuple(g for g in fixed if before.groups.get(g) != after.groups.get(g))
        if changed:
            self.rewritten.append(
                Finding(key, "rewritten", changed, after.index, after.action, before.index)
            )


def replay(entries: Iterable[Mapping[str, Any]]) -> dict[str, Claim]:
    """``Replay`` of ``entries``: the latest claim about each record."""
    fold = Replay()
    for entry in entries:
        fold.add(entry)
    return fold.claims


def _rename(claims: dict[str, Claim], old: str, new_name: object) -> None:
    """Move the claims about model ``old``, its versions and its aliases to the new name."""
    if not isinstance(new_name, str):
        return
    new = f"{old.partition('/')[0]}/{new_name}"
    for key in list(claims):
        kind, ref = split_key(key)
        if ref == old or ref.startswith((old + ":", old + "@")):
            claims[record_key(kind, new + ref[len(old) :])] = claims.pop(key)


@dataclass(frozen=True, slots=True)
class Finding:
    """A record whose state the log does not vouch for."""

    record: str
    problem: str  # "changed" | "rewritten" | "unlogged" | "deleted" | "revived" | "uncovered"
    groups: tuple[str, ...] = ()
    index: int | None = None  # the log entry the record was compared with
    action: str = ""
    since: int | None = None  # "rewritten": the earlier entry the groups changed from

    @property
    def forged(self) -> bool:
        """Whether this is evidence of a change that bypassed the API (an ``uncovered``
        record's last entry predates state digests: nothing to compare with)."""
        return self.problem != "uncovered"

    def describe(self) -> str:
        at = f"entry {self.index} ({self.action})" if self.index is not None else ""
        if self.problem == "changed":
            return f"{self.record}: {', '.join(self.groups)} differ from what {at} recorded"
        if self.problem == "rewritten":
            return (
                f"{self.record}: {', '.join(self.groups)} never change, but {at} records other "
                f"values than entry {self.since}: they were edited outside Cairn in between"
            )
        if self.problem == "unlogged":
            return f"{self.record}: exists, but no entry of the log is about it"
        if self.problem == "deleted":
            return f"{self.record}: {at} says it exists, but it is gone"
        if self.problem == "revived":
            return f"{self.record}: exists, but {at} says it was removed"
        return f"{self.record}: not covered (its last entry, {at}, predates state digests)"


def compare(
    claims: Mapping[str, Claim], served: Mapping[str, Groups], kinds: Iterable[str] = KINDS
) -> list[Finding]:
    """Each record the API serves (``served``: key -> group digests computed from it) held
    against the log's claims, and each record of ``kinds`` (those ``served`` was gathered
    for) that the log says exists but is not served."""
    found: list[Finding] = []
    wanted = set(kinds)
    for key in sorted(served):
        claim = claims.get(key)
        if claim is None:
            found.append(Finding(key, "unlogged"))
        elif not claim.covered:
            found.append(Finding(key, "uncovered", index=claim.index, action=claim.action))
        elif claim.groups is None:
            found.append(Finding(key, "revived", index=claim.index, action=claim.action))
        else:
            differ = tuple(g for g in sorted(served[key]) if served[key][g] != claim.groups.get(g))
            if differ:
                found.append(Finding(key, "changed", differ, claim.index, claim.action))
    for key in sorted(set(claims) - set(served)):
        claim = claims[key]
        if split_key(key)[0] not in wanted:
            continue
        if claim.covered and claim.groups is not None:
            found.append(Finding(key, "deleted", index=claim.index, action=claim.action))
    return found
