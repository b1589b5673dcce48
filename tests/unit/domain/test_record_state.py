"""The state digests audit entries commit to, byte for byte, and the replay that holds the
records the API serves against them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson

from cairn.api.bodies import ok
from cairn.domain.audit import entry_document, leaf_bytes
from cairn.domain.record_replay import Claim, compare, replay
from cairn.domain.record_state import (
    GROUPS,
    digests,
    records_touched,
    validations_fields,
    version_fields,
)
from cairn.domain.records import Version
from cairn.wire import versions as wire_versions

AT = datetime(2026, 11, 26, 7, 30, 1, 5, tzinfo=UTC)


def _sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _version(**changes: Any) -> Version:
    fields: dict[str, Any] = {
        "id": 7,
        "namespace": "risk",
        "model": "fraud",
        "number": 3,
        "manifest_digest": "sha256:" + "ab" * 32,
        "size": 10,
        "file_count": 2,
        "state": "staging",
        "description": "gbm",
        "author": "alice",
        "provenance": {"code": {"commit": "abc1234"}, "extra": {"seed": 2**60}},
        "schema": {},
        "metrics": {"auc": 0.91, "loss": 1.0},
        "params": {"depth": "6"},
        "completeness": 0.5,
        "missing_fields": ["schema"],
        "created_at": AT,
        "updated_at": AT,
        "tags": {"team": "risk"},
        "aliases": ["production"],
    }
    return Version(**{**fields, **changes})


def test_a_group_digest_is_the_sha256_of_its_canonical_json() -> None:
    assert digests("alias", {"version": 3}) == {
        "target": _sha('{"fields":{"version":3},"group":"target","kind":"alias"}')
    }
    groups = digests("version", version_fields(_version()))
    assert set(groups) == set(GROUPS["version"])
    assert groups["origin"] == _sha(
        '{"fields":{"author":"alice","created_at":"2026-11-26T07:30:01.000005Z",'
        '"provenance":{"code":{"commit":"abc1234"},"extra":{"seed":{"int":"1152921504606846976"}}}},'
        '"group":"origin","kind":"version"}'
    )
    assert groups["evaluation"] == _sha(
        '{"fields":{"completeness":{"missing":["schema"],"score":0.5},'
        '"metrics":{"auc":0.91,"loss":1},"params":{"depth":"6"},"schema":{}},'
        '"group":"evaluation","kind":"version"}'
    )
    assert groups["lifecycle"] == _sha(
        '{"fields":{"state":"staging"},"group":"lifecycle","kind":"version"}'
    )


def test_the_server_record_and_the_api_document_give_the_same_digests() -> None:
    version = _version(created_at=AT.replace(microsecond=0))  # the API then drops the fraction
    served = orjson.loads(ok(wire_versions.Version.of(version)).body)
    assert digests("version", version_fields(served)) == digests("version", version_fields(version))


def test_each_group_changes_only_with_its_own_fields() -> None:
    base = digests("version", version_fields(_version()))
    forged = digests("version", version_fields(_version(author="mallory", metrics={"auc": 0.99})))
    assert {g for g in base if base[g] != forged[g]} == {"origin", "evaluation"}
    moved = digests("version", version_fields(_version(state="production", tags={})))
    assert {g for g in base if base[g] != moved[g]} == {"lifecycle", "description"}


def test_entries_are_about_the_records_their_subjects_name() -> None:
    assert records_touched("version.tag", "risk/fraud:3", {}) == ["version risk/fraud:3"]
    assert records_touched("validation.add", "risk/fraud:3", {}) == [
        "version risk/fraud:3",
        "validations risk/fraud:3",
    ]
    assert records_touched("deployment.record", "risk/fraud:3", {}) == ["version risk/fraud:3"]
    assert records_touched("alias.set", "risk/fraud@prod", {}) == ["alias risk/fraud@prod"]
    assert records_touched("model.tag", "risk/fraud", {}) == ["model risk/fraud"]
    assert records_touched("model.delete", "risk/fraud", {}) == [
        "model risk/fraud",
        "policy risk/fraud",
    ]
    assert records_touched("policy.set", "risk", {}) == ["policy risk"]
    assert records_touched("policy.set", "risk/fraud", {}) == ["policy risk/fraud"]
    assert records_touched("model.rename", "risk/fraud", {"new_name": "scam"}) == [
        "model risk/scam"
    ]
    assert records_touched("namespace.update", "risk", {}) == ["namespace risk"]
    assert records_touched("principal.create", "principal/rita", {}) == ["principal rita"]
    assert records_touched("role.grant", "principal/rita", {}) == ["principal rita"]
    assert records_touched("token.revoke", "principal/rita", {"token_id": "t1"}) == ["token t1"]
    assert records_touched("key.add", "risk", {"name": "release"}) == ["keys risk"]
    assert records_touched("webhook.add", "webhook/3", {}) == []
    assert records_touched("mlflow.run.create", "0af3", {}) == []


def test_an_entry_with_records_hashes_them_and_one_without_is_hashed_as_before() -> None:
    common: dict[str, Any] = {
        "at": AT,
        "actor": "a",
        "action": "alias.delete",
        "subject": "r/f@p",
        "payload": {},
        "request_id": None,
    }
    assert b"records" not in leaf_bytes(entry_document(**common))
    assert leaf_bytes(entry_document(**common, records={"alias r/f@p": None})).endswith(
        b'"records":{"alias r/f@p":null},"request_id":null,"subject":"r/f@p"}'
    )


def _entry(index: int, action: str, subject: str, records: Any = None, **payload: Any) -> Any:
    entry = {
        "index": index,
        "at": f"2026-11-26T07:30:{index:02}.000000Z",
        "action": action,
        "subject": subject,
        "payload": payload,
    }
    if records is not None:
        entry["records"] = records
    return entry


def test_replay_keeps_the_latest_claim_and_follows_renames() -> None:
    v1 = {"origin": "sha256:1", "description": "d"}
    v1_tagged = {**v1, "description": "x"}
    claims = replay(
        [
            _entry(0, "version.register", "risk/fraud:1"),  # before digests: not covered
            _entry(1, "version.register", "risk/fraud:2", {"version risk/fraud:2": v1}),
            _entry(2, "version.tag", "risk/fraud:2", {"version risk/fraud:2": v1_tagged}),
            _entry(3, "model.rename", "risk/fraud", {"model risk/scam": {}}, new_name="scam"),
            _entry(4, "version.delete", "risk/scam:1", {"version risk/scam:1": None}),
        ]
    ).claims
    assert claims == {
        "version risk/scam:2": Claim(v1_tagged, True, 2, "version.tag"),
        "model risk/scam": Claim({}, True, 3, "model.rename"),
        "version risk/scam:1": Claim(None, True, 4, "version.delete"),
        "validations risk/scam:1": Claim(None, False, 0, "version.register"),
    }


def _version_entries(*changes: tuple[str, dict[str, str]]) -> list[Any]:
    """A registration, then one entry per (action, groups that differ from the start)."""
    start = {"origin": "o", "evaluation": "e", "description": "d", "lifecycle": "l"}
    entries = [_entry(0, "version.register", "r/f:1", {"version r/f:1": start})]
    for index, (action, changed) in enumerate(changes, start=1):
        entries.append(_entry(index, action, "r/f:1", {"version r/f:1": {**start, **changed}}))
    return entries


def test_a_change_an_action_cannot_make_is_found_even_when_a_later_entry_vouches_for_it() -> None:
    clean = replay(_version_entries(("version.tag", {"description": "x"})))
    assert clean.rewritten() == []
    # The state was set to production in the database, then the version was tagged.
    laundered = replay(_version_entries(("version.tag", {"description": "x", "lifecycle": "p"})))
    [finding] = laundered.rewritten()
    assert (finding.record, finding.problem, finding.groups) == (
        "version r/f:1",
        "rewritten",
        ("lifecycle",),
    )
    assert (finding.since, finding.index, finding.action) == (0, 1, "version.tag")
    # An action this replay does not know may change what may change, never what may not.
    unknown = replay(_version_entries(("version.frobnicate", {"lifecycle": "p", "origin": "m"})))
    assert [f.groups for f in unknown.rewritten()] == [("origin",)]


def test_the_entries_of_one_transaction_are_judged_together() -> None:
    state = {"origin": "o", "lifecycle": "staging"}
    promoted = {"origin": "o", "lifecycle": "production"}
    same_time = "2026-11-26T08:00:00.000001Z"
    entries = [
        _entry(0, "version.register", "r/f:1", {"version r/f:1": state}),
        {**_entry(1, "approval.approve", "r/f:1", {"version r/f:1": promoted}), "at": same_time},
        {**_entry(2, "version.promote", "r/f:1", {"version r/f:1": promoted}), "at": same_time},
    ]
    assert replay(entries).rewritten() == []
    alone = replay(entries[:2])  # without the promotion's entry, approving changed the state
    assert [f.groups for f in alone.rewritten()] == [("lifecycle",)]


def test_compare_names_each_kind_of_difference() -> None:
    claims = {
        "version r/f:1": Claim({"origin": "a", "lifecycle": "b"}, True, 5, "version.register"),
        "version r/f:2": Claim({"origin": "a"}, True, 6, "version.register"),
        "version r/f:3": Claim(None, True, 7, "version.delete"),
        "version r/f:4": Claim(None, False, 1, "version.register"),
        "alias r/f@p": Claim({"target": "t"}, True, 8, "alias.set"),
    }
    served = {
        "version r/f:1": {"origin": "forged", "lifecycle": "b"},
        "version r/f:3": {"origin": "a"},
        "version r/f:4": {"origin": "a"},
        "version r/f:9": {"origin": "a"},
    }
    found = {(f.record, f.problem, f.groups, f.index) for f in compare(claims, served)}
    assert found == {
        ("version r/f:1", "changed", ("origin",), 5),
        ("version r/f:2", "deleted", (), 6),
        ("version r/f:3", "revived", (), 7),
        ("version r/f:4", "uncovered", (), 1),
        ("version r/f:9", "unlogged", (), None),
        ("alias r/f@p", "deleted", (), 8),
    }
    only_versions = compare(claims, served, kinds=["version"])
    assert "alias r/f@p" not in {f.record for f in only_versions}
    assert [f.forged for f in only_versions if f.record == "version r/f:4"] == [False]


def test_a_check_queued_or_running_has_one_digest_and_a_result_another() -> None:
    def results(status: str, details: dict[str, Any]) -> dict[str, str]:
        row = {"name": "scan", "status": status, "details": details, "created_by": "cairn"}
        return digests("validations", validations_fields([{**row, "created_at": AT}]))

    queued = results("pending", {"message": "queued for a background scan"})
    assert results("running", {}) == queued
    assert results("passed", {}) != queued != results("failed", {})
