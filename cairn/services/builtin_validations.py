"""Cairn's built-in validations of a version: the signature and the scan (integrity and
completeness are settled by the registration itself, ``at_registration``).

Both read blobs that are already stored (content-addressed, so they cannot change) and run
*before* the registration's transaction, so a scan never holds the database's write lock;
the transaction then records their results with the version. A version larger than
``scan_inline_bytes`` is registered with its scan ``pending``, and a background worker in any
server process scans it later (``work_pending``), claiming work through the database.
Re-running a built-in validation (``rerun``) adds a new result; the history is kept.

Statuses: signature ``verified`` | ``failed`` | ``unsigned``; scan ``clean`` | ``warnings`` |
``flagged`` | ``error`` | ``pending``. The server never executes model content (DESIGN §2.7):
the scanner and the signature verification read bytes only.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cairn.domain.manifest import FileEntry, Manifest
from cairn.domain.records import Validation
from cairn.domain.scanning import (
    FileScanResult,
    ScanStatus,
    VersionScanSummary,
    scan_file,
    summarise_version,
)
from cairn.domain.scanning.results import finding_id
from cairn.domain.scanning.waivers import apply_waivers
from cairn.domain.signatures import BUNDLE_MAX, SIGNATURE_FILE, verify_signature
from cairn.errors import ServerError, SignatureRejected
from cairn.services.auth import EVERYWHERE, SYSTEM, Permission
from cairn.services.resolve import get_namespace
from cairn.services.uow import Database, UnitOfWork
from cairn.storage.blobs import BlobStore
from cairn.storage.blobs.reader import open_blob
from cairn.storage.sql.store import MetadataStore

log = logging.getLogger("cairn.builtin_validations")
SIGNATURE, SCAN, INTEGRITY, COMPLETENESS = "signature", "scan", "integrity", "completeness"
BACKGROUND = (SCAN, INTEGRITY)  # the ones that read every byte, queued for large versions
SCAN_CACHE = 4096


@dataclass(frozen=True, slots=True)
class Outcome:
    """A check's result, computed before the transaction that records it."""

    name: str
    status: str
    details: dict[str, Any]


class BuiltinValidations:
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
            trusted = store.keys.of_namespace(ns.id)
        # Read no more than the manifest says: the registration checks the real size later.
        bundle = b"".join(self.blobs.read(entry.digest, 0, entry.size))
        files = {f.path: (f.size, f.digest) for f in manifest.files}
        keys = [k.public_key for k in trusted]
        digests = {f.path: f.digest for f in manifest.files}

        def range_digest(path: str, start: int, end: int) -> str:  # a sharded signature's
            hasher = hashlib.sha256()
            for chunk in self.blobs.read(digests[path], start, end):
                hasher.update(chunk)
            return hasher.hexdigest()

        result = verify_signature(
            bundle, keys, files, signature_path=SIGNATURE_FILE, range_digest=range_digest
        )
        details: dict[str, Any] = {
            "signer": result.signer,
            "message": result.message,
            # Who signed, by the namespace's name for the key, and what it was checked against.
            "key": next(
                (k.name for k in trusted if k.fingerprint in (result.signer, result.anchor)), None
            ),
            "checked_against": {"namespace": namespace, "keys": [k.name for k in trusted][:50]},
        }
        if result.anchor is not None:  # signed with a certificate that chains to this one
            details["certificate_authority"] = result.anchor
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
                if known.status is not ScanStatus.ERROR:  # an error may pass: read again
                    self._remember(f.digest, f.path, known)
            results.append(known)
        summary = summarise_version(results)
        return Outcome(SCAN, summary.status.value, scan_details(summary.files, summary))

    @staticmethod
    def at_registration(manifest: Manifest, score: float, missing: list[str]) -> list[Outcome]:
        """The built-in validations a registration itself settles: the server hashed every byte
        on upload (blobs exist only under the digest it computed), and the metadata's
        completeness."""
        integrity = Outcome(
            INTEGRITY,
            "passed",
            {
                "files": len(manifest.files),
                "bytes": manifest.total_size,
                "message": "every file was hashed by the server on upload and matches",
            },
        )
        status = "passed" if not missing else "failed"
        return [integrity, Outcome(COMPLETENESS, status, {"score": score, "missing": missing})]

    @staticmethod
    def enforce(uow: UnitOfWork, namespace: str, outcomes: list[Outcome]) -> None:
        """Inside the registration's transaction: refuse an unverified signature where the
        namespace requires signatures (nothing is written)."""
        ns = get_namespace(uow.store, namespace)
        signature = next((o for o in outcomes if o.name == SIGNATURE), None)
        if signature is None:  # the blobs were checked first: the validations must have run
            raise ServerError("the registration's built-in validations did not run")
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

    # ------------------------------------------------------------------ integrity
    def integrity(self, files: Sequence[FileEntry]) -> Outcome:
        """Read every file's stored bytes again and compare them with the manifest's digest."""
        bad: list[str] = []
        for f in files:
            hasher = hashlib.sha256()
            for chunk in self.blobs.read(f.digest):
                hasher.update(chunk)
            if "sha256:" + hasher.hexdigest() != f.digest:
                bad.append(f.path)
        total = sum(f.size for f in files)
        if bad:
            message = f"{len(bad)} files no longer match their digest"
            details = {"files": len(files), "corrupt": bad[:100], "message": message}
            return Outcome(INTEGRITY, "failed", details)
        message = "every file's bytes match the manifest's digest"
        return Outcome(
            INTEGRITY, "passed", {"files": len(files), "bytes": total, "message": message}
        )

    def rerun(self, name: str, namespace: str, files: Sequence[FileEntry]) -> Outcome:
        """Run one of Cairn's built-in validations again on a version's files (large versions:
        queued)."""
        if name == SIGNATURE:
            return self.signature(namespace, Manifest(tuple(files)))
        if sum(f.size for f in files) > self.scan_inline_bytes:
            return Outcome(name, "pending", {"message": "queued for a background run"})
        if name == SCAN:
            with self._lock:
                for f in files:
                    self._scanned.pop((f.digest, f.path), None)  # read the bytes again
            return self.scan(files)
        return self.integrity(files)

    # ------------------------------------------------------------------ in the background
    def work_pending(self, limit: int = 4) -> int:
        """Run pending scans and integrity validations; how many finished. Any process may run
        this: a check is claimed in a short transaction (``running``), done outside it, and
        finished in another, so no two processes run one check and the database's write lock
        is never held while bytes are read. A claim left by a crashed process is given back
        by ``release_stale``."""
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
            return sum(
                uow.store.validations.release_running(name, uow.now - older_than)
                for name in BACKGROUND
            )

    def _claim(self) -> tuple[int, int, str, str, tuple[FileEntry, ...]] | None:
        with self.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE) as uow:
            for name in BACKGROUND:
                claimed = uow.store.validations.claim_pending(name, 1)
                if claimed:
                    validation_id, version_id = claimed[0]
                    uow.store.validations.finish(validation_id, "running", {}, uow.now)
                    return (
                        validation_id,
                        version_id,
                        name,
                        uow.store.versions.ref_of(version_id),
                        uow.store.versions.files(version_id),
                    )
            return None

    def _finish(
        self,
        validation_id: int,
        version_id: int,
        name: str,
        ref: str,
        files: tuple[FileEntry, ...],
    ) -> None:
        try:
            outcome = self.scan(files) if name == SCAN else self.integrity(files)
        except Exception as exc:  # a check that cannot finish is an error result, not a crash
            log.exception("%s of %s failed", name, ref)
            outcome = Outcome(name, ScanStatus.ERROR.value, {"message": str(exc)[:500]})
        with self.db.write(SYSTEM, Permission.ADMIN, EVERYWHERE) as uow:
            outcome = carry_waivers(uow.store, version_id, outcome)
            uow.store.validations.finish(validation_id, outcome.status, outcome.details, uow.now)
            uow.record(f"validation.{name}", ref, status=outcome.status)


def scan_details(files: tuple[FileScanResult, ...], summary: VersionScanSummary) -> dict[str, Any]:
    flagged = [r for r in files if r.status is not ScanStatus.CLEAN]
    return {
        "scanner": summary.scanner,
        "scanner_version": summary.scanner_version,
        "worst_severity": summary.worst_severity.value if summary.worst_severity else None,
        "files": len(files),
        "findings": [
            {
                "id": finding_id(r.path, f.path, f.kind.value, f.message),
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


def newest_scan(store: MetadataStore, version_id: int) -> Validation | None:
    """The newest finished result of Cairn's scan of a version."""
    scans = [
        v
        for v in store.validations.history(version_id)
        if v.name == SCAN and v.created_by == SYSTEM.name and v.status not in ("pending", "running")
    ]
    return scans[-1] if scans else None


def carry_waivers(store: MetadataStore, version_id: int, outcome: Outcome) -> Outcome:
    """A new scan of a version keeps the waivers of its newest scan result (see
    ``cairn.domain.scanning.waivers``)."""
    if outcome.name != SCAN:
        return outcome
    before = newest_scan(store, version_id)
    waivers = (before.details.get("waivers") if before else None) or {}
    if not waivers:
        return outcome
    status, details = apply_waivers(outcome.status, outcome.details, waivers)
    return Outcome(SCAN, status, details)
