"""Waivers: an approver's decision that one finding of one version's scan does not count.

A waiver names a finding by its id (``finding_id``: the file, the place in it, the kind and
the message), is given with a reason, and is kept in the scan result's details::

    "waivers": {"1a2b3c4d5e6f7a8b": {"by": "carol", "reason": "…", "at": "2026-…"}}

Each waived finding is marked (``"waived": {by, reason, at}``) and the scan's status is the
one its findings that are not waived amount to. A later scan of the same version (a re-run,
the background scan) carries the waivers over: a waiver holds for as long as the finding it
names is found, and a finding the scanner words differently is a new finding.

When the details list fewer findings than the scan found (at most 200 are kept), a waiver
cannot lower the status below what the unlisted ones may hold: the status stays as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cairn.domain.scanning.results import finding_id, status_of_pairs

LISTED_MAX = 200


def finding_key(finding: Mapping[str, Any]) -> str:
    """The id of a finding as the scan's details list it (older results have none stored)."""
    stored = finding.get("id")
    if isinstance(stored, str):
        return stored
    return finding_id(
        str(finding.get("file", "")),
        str(finding.get("path", "")),
        str(finding.get("kind", "")),
        str(finding.get("message", "")),
    )


def apply_waivers(
    status: str, details: Mapping[str, Any], waivers: Mapping[str, Mapping[str, Any]]
) -> tuple[str, dict[str, Any]]:
    """The status and details of a scan result with ``waivers`` applied."""
    if status not in ("clean", "warnings", "flagged", "error"):
        return status, dict(details)  # pending or running: nothing to judge yet
    findings = []
    for raw in details.get("findings") or []:
        if not isinstance(raw, dict):
            continue
        finding = {k: v for k, v in raw.items() if k != "waived"}
        finding["id"] = finding_key(raw)
        if finding["id"] in waivers:
            finding["waived"] = dict(waivers[finding["id"]])
        findings.append(finding)
    updated = {**details, "findings": findings}
    if waivers:
        updated["waivers"] = {k: dict(v) for k, v in waivers.items()}
    if len(findings) >= LISTED_MAX or any(f.get("kind") == "too_many_findings" for f in findings):
        return status, updated
    counted = ((str(f.get("kind")), str(f.get("severity"))) for f in findings if "waived" not in f)
    return status_of_pairs(counted).value, updated
