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

``record_replay`` folds the entries of a log into what each record must look like now.

The groups are chosen so that a difference is named usefully: a version's ``content`` (its
manifest), ``origin`` (who registered it, when, from what), ``evaluation`` (metrics, params,
schema, completeness), ``description`` (description and tags) and ``lifecycle`` (state).
Bookkeeping that no user decision sets (``updated_at``, a model's latest number) is left out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import rfc8785

from cairn.domain.audit import entry_time
from cairn.domain.records import (
    Approval,
    ApprovalRequest,
    Model,
    Namespace,
    NamespaceKey,
    PolicyRevision,
    Principal,
    Token,
    Validation,
    Version,
)

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
    # A version's validation results, every one in the order posted ("validations risk/fraud:3").
    "validations": {"results": ("validations",)},
    # A version's approval requests and every vote cast on them ("approvals risk/fraud:3"):
    # a vote added in the database would otherwise count towards a policy's approvals.
    "approvals": {"votes": ("requests",)},
    "keys": {"trusted": ("keys",)},  # the public keys a namespace trusts to sign its models
    # A namespace's policy ("policy risk") or a model's override ("policy risk/fraud").
    "policy": {"rules": ("revision", "document", "created_by", "created_at")},
    "principal": {
        "account": ("kind", "description", "disabled"),
        "roles": ("roles",),
        "origin": ("created_by", "created_at"),
    },
    "token": {
        "grant": ("principal", "name", "scopes", "created_by", "created_at", "expires_at"),
        "revocation": ("revoked_at",),
    },
}
# The order in which a transaction reads (and on PostgreSQL locks) the records it touched:
# containers before what they contain, as the mutations themselves lock them.
KINDS = tuple(GROUPS)

_NAME = r"[^/@:\s]+"
_VERSION_REF = re.compile(rf"^{_NAME}/{_NAME}:[0-9]+$")
_ALIAS_REF = re.compile(rf"^{_NAME}/{_NAME}@{_NAME}$")
_MODEL_REF = re.compile(rf"^{_NAME}/{_NAME}$")
_NAMESPACE_REF = re.compile(rf"^{_NAME}$")
_PRINCIPAL_REF = re.compile(rf"^principal/({_NAME})$")
# JSON numbers RFC 8785 can write exactly; larger integers are drawn as tagged text instead.
_SAFE_INTEGER = 2**53 - 1


# Actions on a version that also write (or, deleting it, remove) its validation results.
# "version.evaluate": a version registered from an MLflow run takes its final metrics (and a
# new completeness result) when the run ends.
_VALIDATED = frozenset(
    {"version.register", "version.delete", "retention.delete", "version.evaluate"}
)
# Actions that delete a version, and with it its approval requests.
_DELETED = frozenset({"version.delete", "retention.delete"})
# A queued check is claimed (running) and, if its worker dies, queued again without an entry:
# both are "not done yet", drawn alike, so that only a result changes the digest.
_NOT_DONE = frozenset({"pending", "running"})


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
        if action in ("model.create", "model.delete"):  # a model's policy lives and dies with it
            return [record_key("model", subject), record_key("policy", subject)]
        return [record_key("model", subject)]
    if family == "policy" and (_MODEL_REF.match(subject) or _NAMESPACE_REF.match(subject)):
        return [record_key("policy", subject)]
    if family == "namespace" and _NAMESPACE_REF.match(subject):
        return [record_key("namespace", subject)]
    if family == "key" and _NAMESPACE_REF.match(subject):
        return [record_key("keys", subject)]
    principal = _PRINCIPAL_REF.match(subject)
    if family in ("principal", "role") and principal:
        return [record_key("principal", principal.group(1))]
    if family == "token" and principal and isinstance(payload.get("token_id"), str):
        return [record_key("token", payload["token_id"])]
    if family == "alias" and _ALIAS_REF.match(subject):
        return [record_key("alias", subject)]
    if _VERSION_REF.match(subject):
        touched = [record_key("version", subject)]
        if family == "validation" or action in _VALIDATED:
            touched.append(record_key("validations", subject))
        if family == "approval" or action in _DELETED:
            touched.append(record_key("approvals", subject))
        return touched
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


def _maybe_time(value: datetime | str | None) -> str | None:
    return None if value is None else _time(value)


def _drawn(record: Any, names: Iterable[str]) -> dict[str, Any]:
    """``names`` of a record or of the API's document of it."""
    if isinstance(record, Mapping):
        return {n: record[n] for n in names}
    return {n: getattr(record, n) for n in names}


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


def keys_fields(keys: Iterable[NamespaceKey | Mapping[str, Any]]) -> dict[str, Any]:
    """A namespace's trusted keys, by name (a namespace without keys has no such record)."""
    names = ("name", "public_key", "fingerprint", "added_by", "created_at")
    drawn = [_drawn(k, names) for k in keys]
    for key in drawn:
        key["created_at"] = _time(key["created_at"])
    return {"keys": sorted(drawn, key=lambda k: str(k["name"]))}


def validations_fields(results: Iterable[Validation | Mapping[str, Any]]) -> dict[str, Any]:
    """A version's validation results, oldest first (``updated_at`` is bookkeeping)."""
    drawn = []
    for result in results:
        fields = _drawn(result, ("name", "status", "details", "created_by", "created_at"))
        fields["created_at"] = _time(fields["created_at"])
        if fields["status"] in _NOT_DONE:
            fields["status"], fields["details"] = "pending", None
        drawn.append(fields)
    return {"validations": drawn}


def approvals_fields(requests: Iterable[ApprovalRequest | Mapping[str, Any]]) -> dict[str, Any]:
    """A version's approval requests, oldest first, each with its votes; a request's status
    is left out (it closes, completes or expires as a consequence, not by an entry of its own)."""
    drawn = []
    for request in requests:
        fields = _drawn(request, ("id", "target", "requested_by", "created_at", "approvals"))
        fields["created_at"] = _time(fields["created_at"])
        fields["approvals"] = [_vote(v) for v in fields["approvals"]]
        drawn.append(fields)
    return {"requests": drawn}


def _vote(vote: Approval | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(vote, Approval):
        vote = {
            **_drawn(vote, ("approver", "decision", "comment", "manifest_digest", "target")),
            "at": vote.created_at,
        }
    fields = _drawn(vote, ("approver", "decision", "comment", "manifest_digest", "target", "at"))
    fields["at"] = _time(fields["at"])
    return fields


def policy_fields(p: PolicyRevision | Mapping[str, Any]) -> dict[str, Any]:
    fields = _drawn(p, ("revision", "document", "created_by", "created_at"))
    fields["created_at"] = _time(fields["created_at"])
    return fields


def principal_fields(p: Principal | Mapping[str, Any]) -> dict[str, Any]:
    names = ("kind", "description", "disabled", "roles", "created_by", "created_at")
    fields = _drawn(p, names)
    fields["created_at"] = _time(fields["created_at"])
    fields["roles"] = {ns: sorted(roles) for ns, roles in fields["roles"].items()}
    return fields


def token_fields(t: Token | Mapping[str, Any]) -> dict[str, Any]:
    names = ("principal", "name", "scopes", "created_by", "created_at", "expires_at", "revoked_at")
    fields = _drawn(t, names)
    fields["created_at"] = _time(fields["created_at"])
    fields["expires_at"] = _maybe_time(fields["expires_at"])
    fields["revoked_at"] = _maybe_time(fields["revoked_at"])
    return fields
