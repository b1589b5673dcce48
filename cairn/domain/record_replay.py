"""Replaying the audit log: what each record must look like now, and which entries show an
edit made outside Cairn (``cairn audit verify --records``).

The latest entry about a record says what it must look like. That alone would let a later,
honest change launder an edit: its entry commits to the state it finds, edited fields
included. So the replay also checks each change of a record against what the actions that
made it may change (a tag changes a version's ``description`` group, never its ``lifecycle``
or its ``evaluation``). Every entry of one transaction about a record carries the same digests
(the state the whole transaction left) and the same time, so they are judged together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cairn.domain.record_state import GROUPS, KINDS, Groups, record_key, records_touched, split_key

_NOTHING: frozenset[str] = frozenset()
# What each action may change in the records it is about. An action missing here (added after
# this table) may change every group that is not immutable: its entries still commit to the
# state, only this check is looser for them.
CHANGES: dict[str, frozenset[str]] = {
    "namespace.update": frozenset({"settings"}),
    "model.update": frozenset({"profile", "tags"}),
    "model.tag": frozenset({"tags"}),
    "model.untag": frozenset({"tags"}),
    "model.rename": _NOTHING,
    "alias.set": frozenset({"target"}),
    "version.update": frozenset({"description"}),
    "version.tag": frozenset({"description"}),
    "version.untag": frozenset({"description"}),
    "version.promote": frozenset({"lifecycle"}),
    "retention.archive": frozenset({"lifecycle"}),
    "version.promote.denied": _NOTHING,
    # The one change to a version's evaluation: registered from an MLflow run that was still
    # running, it takes the metrics and params the run logged since, once, when the run ends
    # (keys it had keep their values; ``cairn.services.run_data.complete_versions``).
    "version.evaluate": frozenset({"evaluation"}),
    "approval.request": _NOTHING,
    "approval.approve": _NOTHING,  # a promotion it completes has its own version.promote
    "approval.reject": _NOTHING,
    "deployment.record": _NOTHING,
    "oci.push": _NOTHING,
    "oci.view": _NOTHING,
    "policy.set": frozenset({"rules"}),
    "key.add": frozenset({"trusted"}),
    "key.remove": frozenset({"trusted"}),
    "principal.disable": frozenset({"account"}),
    "principal.enable": frozenset({"account"}),
    "role.grant": frozenset({"roles"}),
    "role.revoke": frozenset({"roles"}),
    "token.revoke": frozenset({"revocation"}),
}
_UNCHANGING_FAMILIES = ("validation.",)  # validations are records of their own
# Groups no action changes while a record exists.
IMMUTABLE: dict[str, frozenset[str]] = {
    "namespace": frozenset({"origin"}),
    "model": frozenset({"origin"}),
    "version": frozenset({"content", "origin", "evaluation"}),
    "alias": _NOTHING,
    "validations": _NOTHING,
    "approvals": _NOTHING,
    "keys": _NOTHING,
    "policy": _NOTHING,
    "principal": frozenset({"origin"}),
    "token": frozenset({"grant"}),
}


def may_change(kind: str, action: str) -> frozenset[str]:
    if kind == "validations":  # only the entries that post or run checks name them
        return frozenset({"results"})
    if kind == "approvals":  # only requests, reviews and deletions name them
        return frozenset({"votes"})
    if action in CHANGES:
        return CHANGES[action]
    if action.startswith(_UNCHANGING_FAMILIES):
        return _NOTHING
    return frozenset(GROUPS[kind]) - IMMUTABLE[kind]


@dataclass(frozen=True, slots=True)
class Claim:
    """What the log's latest entry about a record says of it: its group digests, ``None`` if
    the record was gone after that entry, and ``covered`` false for an entry written before
    entries carried digests (it says nothing about the state)."""

    groups: Groups | None
    covered: bool
    index: int
    action: str


@dataclass(frozen=True, slots=True)
class Finding:
    """A record whose state the log does not vouch for."""

    record: str
    problem: str  # "changed" | "rewritten" | "unlogged" | "deleted" | "revived" | "uncovered"
    groups: tuple[str, ...] = ()
    index: int | None = None  # the log entry the record was compared with
    action: str = ""
    since: int | None = None  # "rewritten": the entry before, which recorded other values

    @property
    def forged(self) -> bool:
        """Whether this is evidence of a change that bypassed the API (an ``uncovered``
        record's last entry predates state digests: nothing to compare with)."""
        return self.problem != "uncovered"

    def describe(self) -> str:
        at = f"entry {self.index} ({self.action})" if self.index is not None else ""
        groups = ", ".join(self.groups)
        if self.problem == "changed":
            return f"{self.record}: {groups} differ from what {at} recorded"
        if self.problem == "rewritten":
            return (
                f"{self.record}: {groups} changed between entry {self.since} and {at}, which "
                "cannot change them: they were edited outside Cairn in between"
            )
        if self.problem == "unlogged":
            return f"{self.record}: exists, but no entry of the log is about it"
        if self.problem == "deleted":
            return f"{self.record}: {at} says it exists, but it is gone"
        if self.problem == "revived":
            return f"{self.record}: exists, but {at} says it was removed"
        return f"{self.record}: not covered (its last entry, {at}, predates state digests)"


@dataclass(slots=True)
class _Track:
    """One record's replay: its latest claim, the digests before its latest transaction,
    and what that transaction's actions may change."""

    claim: Claim
    at: str = ""
    before: Claim | None = None
    allowed: set[str] = field(default_factory=set)
    actions: list[str] = field(default_factory=list)


class Replay:
    """Entries fed in log order (each with ``index``, ``at``, ``action``, ``subject``,
    ``payload`` and ``records``, as the API serves them), one at a time, so that a client
    checks a log of any length without keeping it."""

    def __init__(self) -> None:
        self._tracks: dict[str, _Track] = {}
        self._rewritten: list[Finding] = []

    @property
    def claims(self) -> dict[str, Claim]:
        """The latest claim about each record."""
        return {key: track.claim for key, track in self._tracks.items()}

    def rewritten(self) -> list[Finding]:
        """Changes the entries that made them could not have made, so far."""
        still_open = (self._judge(key, track) for key, track in self._tracks.items())
        return self._rewritten + [f for f in still_open if f is not None]

    def add(self, entry: Mapping[str, Any]) -> None:
        action, subject, index = entry["action"], entry["subject"], entry["index"]
        if action == "model.rename":
            self._rename(subject, entry["payload"].get("new_name"))
        records = entry.get("records")
        if records is None:
            for key in records_touched(action, subject, entry["payload"]):
                self._tracks[key] = _Track(Claim(None, False, index, action))
            return
        for key, groups in records.items():
            claim = Claim(groups, True, index, action)
            track = self._tracks.get(key)
            if (
                track
                and track.claim.covered
                and (track.at, track.claim.groups)
                == (
                    entry["at"],
                    groups,
                )
            ):  # the same transaction: judged with its other entries
                track.claim = claim
            else:
                if track is not None:
                    self._close(key, track)
                before = track.claim if track else None
                track = _Track(claim, entry["at"], before)
                self._tracks[key] = track
            track.allowed |= may_change(split_key(key)[0], action)
            track.actions.append(action)

    def _close(self, key: str, track: _Track) -> None:
        found = self._judge(key, track)
        if found is not None:
            self._rewritten.append(found)

    @staticmethod
    def _judge(key: str, track: _Track) -> Finding | None:
        before, after = track.before, track.claim
        if before is None or not before.covered or before.groups is None:
            return None  # a creation, or nothing known before: any state is new
        if after.groups is None or not after.covered:
            return None
        changed = tuple(
            g
            for g in sorted(set(before.groups) | set(after.groups))
            if before.groups.get(g) != after.groups.get(g) and g not in track.allowed
        )
        if not changed:
            return None
        actions = " + ".join(dict.fromkeys(track.actions))
        return Finding(key, "rewritten", changed, after.index, actions, before.index)

    def _rename(self, old: str, new_name: object) -> None:
        """Move the tracks of model ``old``, its versions and its aliases to the new name."""
        if not isinstance(new_name, str):
            return
        new = f"{old.partition('/')[0]}/{new_name}"
        for key in list(self._tracks):
            kind, ref = split_key(key)
            if ref == old or ref.startswith((old + ":", old + "@")):
                self._tracks[record_key(kind, new + ref[len(old) :])] = self._tracks.pop(key)


def replay(entries: Iterable[Mapping[str, Any]]) -> Replay:
    fold = Replay()
    for entry in entries:
        fold.add(entry)
    return fold


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
        if split_key(key)[0] in wanted and claim.covered and claim.groups is not None:
            found.append(Finding(key, "deleted", index=claim.index, action=claim.action))
    return found
