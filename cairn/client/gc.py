"""The SDK's call for blob garbage collection (global admins). ``Client`` has it through
``GcCalls``; ``collect_garbage`` also works on any ``Http``."""

from __future__ import annotations

from typing import Any

from cairn.client.http import Http
from cairn.wire import paths
from cairn.wire.gc import CollectionReport


def collect_garbage(
    http: Http, *, dry_run: bool = False, grace_hours: float | None = None
) -> CollectionReport:
    """Ask the server to delete the blobs no version names; see ``GcCalls.collect_garbage``."""
    body: dict[str, Any] = {"dry_run": dry_run}
    if grace_hours is not None:
        body["grace_hours"] = grace_hours
    return http.record(CollectionReport, "POST", paths.GC, json=body)


class GcCalls:
    http: Http

    def collect_garbage(
        self, *, dry_run: bool = False, grace_hours: float | None = None
    ) -> CollectionReport:
        """Delete the blobs no version names, older than ``grace_hours`` (default: the
        server's ``CAIRN_GC_GRACE_HOURS``); with ``dry_run``, only list them.

        >>> report = cairn.collect_garbage(dry_run=True)          # doctest: +SKIP
        >>> [b.digest for b in report.unreferenced + report.orphaned]  # doctest: +SKIP
        """
        return collect_garbage(self.http, dry_run=dry_run, grace_hours=grace_hours)
