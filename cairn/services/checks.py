"""Cairn's own checks of a version, recorded as its validations: the signature and the scan.

Both read blobs that are already stored (content-addressed, so they cannot change) and run
*before* the registration's transaction, so a scan never holds the database's write lock;
the transaction then records their results with the version. A version larger than
``scan_inline_bytes`` is registered with its scan ``pending``, and a background worker in any
server process scans it later (``scan_pending``), claiming work through the database.

Statuses: signature ``verified`` | ``failed`` | ``unsigned``; scan ``clean`` | ``flagged`` |
``error`` | ``pending``. The server never executes model content (DESIGN §2.7): the scanner and
the signature check read bytes only.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cairn.domain.manifest import FileEntry, Manifest
from cairn.domain.scanning import (
    FileScanResult,
    ScanStatus,
    VersionScanSummary,
    scan_file,
    summarise_version,
)
from cairn.domain.signatures import BUNDLE_MAX, SIGNATURE_FILE, verify_signature
from cairn.errors import ServerError, SignatureRejected
from cairn.services.auth import EVERYWHERE, SYSTEM, Permission
from cairn.services.resolve import get_namespace
from cairn.services.uow import Database, UnitOfWork
from cairn.storage.blobs import BlobStore
from cairn.storage.blobs.reader import open_blob

log = logging.getLogger("cairn.checks")
SIGNATURE, SCAN = "signature", "scan"
SCAN_CACHE = 4096


@dataclass(frozen=True, slots=True)
class Outcome:
    """A check's result, computed before the transaction that records it."""

    name: str
    status: str
    details: dict[str, Any]


class VersionChecks:
    def __init__(self, db: Database, blobs: BlobStore, scan_inline_bytes: int) -> None:
        self.db = db
        self.blobs = blobs
        self.scan_inline_bytes = scan_inline_bytes
        # Scan results by (digest, path): a blob's bytes never change, and the path decides
        # how they are read, so a file pushed again is not read again. This process's own
        # memory, bounded; losing it costs a rescan, never a wrong answer.
        self._scanned: OrderedDict[tuple[str, str], FileScanResult] = OrderedDict()
        self._lock = threading.Lock()

    def _remember(self, digest: str, path: str, result: FileScanResult) -> None:
        with self._lock:
            self._scanned[(digest, path)] = result
            while len(self._scanned) > SCAN_CACHE:
                self._scanned.popitem(last=False)

    # ------------------------------------------------------------------ at registration
    def run(self, namespace: str, manifest: Manifest) -> list[Outcome]:
        """Check the signature and (for versions up to ``scan_inline_bytes``) scan the files.
        Blobs must exist: registration checks them first."""
        return [self.signature(namespace, manifest), self._scan_or_defer(manifest)]

    def signature(self, namespace: str, manifest: Manifest) -> Outcome:
        entry = next((f for f in manifest.files if f.path == SIGNATURE_FILE), None)
        if entry is None:
            return Outcome(
                SIGNATURE, "unsigned", {"message": f"no {SIGNATURE_FILE} in the version"}
            )
        if entry.size > BUNDLE_MAX:
            return Outcome(
                SIGNATURE, "failed", {"reason": "malformed_bundle", "message": "too large"}
            )
        with self.db.read(SYSTEM, EVERYWHERE, Permission.ADMIN) as store:
            ns = get_namespace(store, namespace)
            keys = [k.public_key for k in store.keys.of_namespace(ns.id)]
        bundle = b"".join(self.blobs.read(entry.digest))
        files = {f.path: (f.size, f.digest) for f in manifest.files}
        result = verify_signature(bundle, keys, files, signature_path=SIGNATURE_FILE)
        details: dict[str, Any] = {"signer": result.signer, "message": result.message}
        if result.reason is not None:
            details["reason"] = result.reason.value
        if result.unsigned:
            details["unsigned"] = list(result.unsigned)[:100]
        return Outcome(SIGNATURE, "verified" if result.verified else "failed", details)

    def _scan_or_defer(self, manifest: Manifest) -> Outcome:
        if manifest.total_size > self.scan_inline_bytes:
            return Outcome(SCAN, "pending", {"message": "queued for a background scan"})
        return self.scan(manifest.files)

    def scan(self, files: Sequence[FileEntry]) -> Outcome:
        results: list[FileScanResult] = []
        for f in files:
            known = self._scanned.get((f.digest, f.path))
            if known is None:
                with open_blob(self.blobs, f.digest, f.size) as stream:
                    known = scan_file(stream, f.path)
                self._remember(f.digest, f.path, known)
            results.append(known)
        summary = summarise_version(results)
        return Outcome(SCAN, summary.status.value, scan_details(summary.files, summary))

    @staticmethod
    def enforce(uow: UnitOfWork, namespace: str, outcomes: list[Outcome]) -> None:
        """Inside the registration's transaction: refuse an unverified signature where the
        namespace requires signatures (nothing is written)."""
        ns = get_namespace(uow.store, namespace)
        signature = next((o for o in outcomes if o.name == SIGNATURE), None)
        if signature is None:
            raise ServerError("registration checks did not run")  # blobs were checked first
        if ns.require_signature and signature.status != "verified":
            raise SignatureRejected(
                f"namespace {ns.name} requires a verified signature: "
                f"{signature.details.get('message', signature.status)}",
                status=signature.status,
                reason=signature.details.get("reason"),
            )

    @staticmethod
    def record(uow: UnitOfWork, version_id: int, outcomes: list[Outcome]) -> None:
        uow.store.validations.add(
            [
                {
                    "version_id": version_id,
                    "name": outcome.name,
                    "status": outcome.status,
                    "details": outcome.details,
                    "created_by": "cairn",
                    "created_at": uow.now,
                    "updated_at": uow.now,
                }
                for outcome in outcomes
            ]
        )

    # ------------------------------------------------------------------ in the background
    def scan_pending(self, limit: int = 4) -> int:
        """Scan versions whose scan is pending; how many were finished. Any process may run
        this: a scan is claimed in a short transaction (``running``), done outside it, and
        finished in another, so no two processes scan one version and the database's write
        lock is never held while bytes are read. A claim left by a crashed process is given
        back by ``release_stale``."""
        done = 0
        for _ in range(limit):
            claimed = self._claim()
            if claimed is None:
                break
            self._finish(*claimed)
            done += 1
        return done

    def release_stale(self, older_than: timedelta) -> int:
        with self.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE) as uow:
            return uow.store.validations.release_running(SCAN, uow.now - older_than)

    def _claim(self) -> tuple[int, str, tuple[FileEntry, ...]] | None:
        with self.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE) as uow:
            claimed = uow.store.validations.claim_pending(SCAN, 1)
            if not claimed:
                return None
            validation_id, version_id = claimed[0]
            uow.store.validations.finish(validation_id, "running", {}, uow.now)
            return (
                validation_id,
                uow.store.versions.ref_of(version_id),
                uow.store.versions.files(version_id),
            )

    def _finish(self, validation_id: int, ref: str, files: tuple[FileEntry, ...]) -> None:
        try:
            outcome = self.scan(files)
        except Exception as exc:  # a scan that cannot finish is an error result, not a crash
            log.exception("scan of %s failed", ref)
            outcome = Outcome(SCAN, ScanStatus.ERROR.value, {"message": str(exc)[:500]})
        with self.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE) as uow:
            uow.store.validations.finish(validation_id, outcome.status, outcome.details, uow.now)
            uow.record("validation.scan", ref, status=outcome.status)


def scan_details(files: tuple[FileScanResult, ...], summary: VersionScanSummary) -> dict[str, Any]:
    flagged = [r for r in files if r.status is not ScanStatus.CLEAN]
    return {
        "scanner": summary.scanner,
        "scanner_version": summary.scanner_version,
        "worst_severity": summary.worst_severity.value if summary.worst_severity else None,
        "files": len(files),
        "findings": [
            {
                "file": r.path,
                "path": f.path,
                "kind": f.kind.value,
                "severity": f.severity.value,
                "message": f.message,
            }
            for r in flagged
            for f in r.findings
        ][:200],
    }
