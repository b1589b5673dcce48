"""``cairn audit verify --records``: the records the API serves, held against the log.

Every audit entry commits to digests of the records its mutation left behind (see
``cairn.domain.record_state``). Once the log itself has verified, the replay of its entries
says what each record must look like now; this module reads every namespace (its trusted
keys, its policy), model (its policy override), alias, version (its validations and approvals;
its content as the files it lists), principal (its roles) and token through the API, computes
the same digests and names each record that differs, that
exists without an entry, or that the log says exists but the API no longer serves. Records
changed by an entry written after the verified checkpoint are not compared (their newest
entry is not under a signature yet): run the check again to cover them.
"""

from __future__ import annotations

from typing import Any

from cairn import errors
from cairn.client.http import Http
from cairn.client.records import RecordsCheck
from cairn.domain.manifest import FileEntry, manifest_digest
from cairn.domain.record_replay import Replay, compare
from cairn.domain.record_state import (
    KINDS,
    Groups,
    alias_fields,
    approvals_fields,
    digests,
    keys_fields,
    model_fields,
    namespace_fields,
    policy_fields,
    principal_fields,
    record_key,
    records_touched,
    token_fields,
    validations_fields,
    version_fields,
)
from cairn.wire import paths

PAGE = 1000


def check_records(http: Http, replay: Replay, size: int) -> RecordsCheck:
    """Compare what the API serves now with ``replay``, the log's first ``size`` entries."""
    served = served_records(http)
    keys, models = _touched_after(http, size - 1)

    def later(key: str) -> bool:
        return key in keys or _model_of(key) in models

    skipped = sorted({k for k in [*served, *replay.claims] if later(k)})
    served = {k: g for k, g in served.items() if not later(k)}
    claims = {k: c for k, c in replay.claims.items() if not later(k)}
    findings = [f for f in replay.rewritten() if not later(f.record)]
    findings += compare(claims, served, KINDS)
    return RecordsCheck(len(served), findings, skipped)


def served_records(http: Http) -> dict[str, Groups]:
    """Every namespace (and its trusted keys), model, alias, version, principal and token the
    API serves, as group digests."""
    served: dict[str, Groups] = {}
    names = []
    for ns in http.json("GET", paths.NAMESPACES)["items"]:
        names.append(ns["name"])
        served[record_key("namespace", ns["name"])] = digests("namespace", namespace_fields(ns))
        keys = http.json("GET", paths.namespace_keys(ns["name"]))["items"]
        if keys:
            served[record_key("keys", ns["name"])] = digests("keys", keys_fields(keys))
        policy = http.json("GET", paths.namespace_policy(ns["name"]))
        if not policy["default"]:
            served[record_key("policy", ns["name"])] = digests("policy", policy_fields(policy))
    for principal in http.json("GET", paths.PRINCIPALS)["items"]:
        key = record_key("principal", principal["name"])
        served[key] = digests("principal", principal_fields(principal))
    for token in http.json("GET", paths.TOKENS, params={"principal": "*"})["items"]:
        served[record_key("token", token["token_id"])] = digests("token", token_fields(token))
    for model in http.pages(paths.MODELS, {"limit": PAGE}):
        ref = model["ref"]
        served[record_key("model", ref)] = digests("model", model_fields(model))
        namespace, name = model["namespace"], model["name"]
        for alias, number in http.json("GET", paths.aliases(namespace, name))["aliases"].items():
            served[record_key("alias", f"{ref}@{alias}")] = digests("alias", alias_fields(number))
        policy = http.json("GET", paths.model_policy(namespace, name))
        if not policy["default"] and policy["model"] is not None:  # its own override
            served[record_key("policy", ref)] = digests("policy", policy_fields(policy))
    approvals = {
        ns: http.json("GET", paths.approvals(ns), params={"status": ""})["items"] for ns in names
    }
    for version in http.pages(paths.VERSIONS, {"limit": PAGE}):
        ref = version["ref"]
        path = paths.version(version["namespace"], version["model"], version["number"])
        fields = version_fields({**version, **_content(http, path)})
        served[record_key("version", ref)] = digests("version", fields)
        results = http.json(
            "GET", paths.validations(version["namespace"], version["model"], version["number"])
        )["items"]
        if results:
            served[record_key("validations", ref)] = digests(
                "validations", validations_fields(results)
            )
        requests = [r for r in approvals.get(version["namespace"], []) if r["ref"] == ref]
        if requests:
            served[record_key("approvals", ref)] = digests("approvals", approvals_fields(requests))
    return served


def _content(http: Http, path: str) -> dict[str, Any]:
    """A version's content as the files it lists make it (what a pull delivers), not as its
    row says: a list edited in the database then differs from what the log recorded. A
    blocked version's files are served to nobody without an audited override, which a check
    must not write: its row's content is compared (and a pull of it checks the list)."""
    try:
        files = http.json("GET", path)["files"]
    except errors.VersionBlocked:
        return {}
    entries = [FileEntry(f["path"], f["size"], f["digest"]) for f in files]
    return {
        "manifest_digest": manifest_digest(entries),
        "size": sum(e.size for e in entries),
        "file_count": len(entries),
    }


def _model_of(key: str) -> str:
    ref = key.partition(" ")[2]
    return ref.partition("@")[0].rpartition(":")[0] or ref.partition("@")[0]


def _touched_after(http: Http, last_index: int) -> tuple[set[str], set[str]]:
    """The records named by entries placed after ``last_index``, and the models renamed
    there (under their old and new names: their versions and aliases moved)."""
    touched: set[str] = set()
    renamed: set[str] = set()
    after = last_index
    while True:
        page = http.json("GET", paths.AUDIT_ENTRIES, params={"after": after, "limit": PAGE})[
            "items"
        ]
        for entry in page:
            records = entry.get("records")
            if records is None:
                touched.update(records_touched(entry["action"], entry["subject"], entry["payload"]))
            else:
                touched.update(records)
            if entry["action"] == "model.rename":
                old = entry["subject"]
                renamed.update({old, f"{old.partition('/')[0]}/{entry['payload']['new_name']}"})
            after = entry["index"]
        if len(page) < PAGE:
            return touched, renamed
