"""``cairn.Client``: push, pull, find and label model versions over the HTTP API."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import httpx
import platformdirs

from cairn import errors
from cairn.client import folders
from cairn.client.cards import CARD_FILE, read_card, with_card
from cairn.client.digests import DigestCache
from cairn.client.gc import GcCalls
from cairn.client.http import Http
from cairn.client.lifecycle import LifecycleCalls
from cairn.client.models import ModelCalls
from cairn.client.namespaces import NamespaceCalls
from cairn.client.progress import Bar
from cairn.client.provenance import capture, environment_file
from cairn.client.records import Pulled, SignatureCheck
from cairn.client.signing import file_range_digest, sign_folder
from cairn.client.transfer import Downloader, Retrier, collect, parallel, send_files
from cairn.client.trust import TrustCalls
from cairn.client.versions import VersionCalls
from cairn.client.webhooks import WebhookCalls
from cairn.domain.manifest import FileEntry, manifest_digest
from cairn.domain.paths import check_path
from cairn.domain.references import parse_model_reference
from cairn.domain.signatures import SIGNATURE_FILE, verify_signature
from cairn.wire import paths
from cairn.wire.versions import Version


class Client(
    ModelCalls, NamespaceCalls, VersionCalls, TrustCalls, LifecycleCalls, GcCalls, WebhookCalls
):
    """A connection to a Cairn server.

    >>> with Client("http://127.0.0.1:8080") as cairn:          # doctest: +SKIP
    ...     v = cairn.push("risk/fraud", "model/", metrics={"auc": 0.93})
    ...     cairn.set_alias("risk/fraud", "champion", v.number)
    ...     cairn.pull("risk/fraud@champion", "/srv/fraud")

    Calls answer typed records: the ``cairn.wire`` models of the API's answers (a version is
    a ``cairn.wire.versions.Version``), or the SDK's own (``cairn.client.records``). Errors
    raise the ``cairn.errors`` class of the server's code, as they would in-process.

    ``url`` and ``token`` default to ``CAIRN_URL`` and ``CAIRN_TOKEN``; ``http`` injects the
    ``httpx.Client`` to use (tests pass one bound to an in-process app). ``ca_bundle``
    (default ``CAIRN_CA_BUNDLE``) is a PEM file of certificate authorities to trust besides the
    usual ones, for a server whose certificate a private authority (or itself) signed.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        http: httpx.Client | None = None,
        cache_dir: str | Path | None = None,
        workers: int = 4,
        progress: bool = True,
        retry_seconds: float = 120.0,
        timeout: float = 60.0,
        ca_bundle: str | Path | None = None,
    ) -> None:
        self.http = Http(url, token, client=http, timeout=timeout, ca_bundle=ca_bundle)
        self.cache_dir = Path(
            cache_dir or os.environ.get("CAIRN_CACHE_DIR") or platformdirs.user_cache_dir("cairn")
        )
        self.workers = workers
        self.progress = progress
        self.retrier = Retrier(retry_seconds)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    # Transfers

    def push(
        self,
        model: str,
        path: str | Path,
        *,
        description: str = "",
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        datasets: list[dict[str, str]] | None = None,
        schema: Mapping[str, Any] | None = None,
        provenance: Mapping[str, Any] | None = None,
        capture_provenance: bool = True,
        env_file: str | Path | None = None,
        idempotency_key: str | None = None,
        progress: bool | None = None,
        sign: str | Path | None = None,
        card: str | Path | None = None,
    ) -> Version:
        """Push a folder or a file as a new version of ``model`` and return the version:

        >>> v = cairn.push("risk/fraud", "out/", metrics={"auc": 0.93})  # doctest: +SKIP
        >>> v.ref, v.file_count  # doctest: +SKIP
        ('risk/fraud:8', 3)

        ``sign`` names an ECDSA private key (PEM): the folder is signed in the OpenSSF
        ``model-signing`` format and the signature goes up with it as ``model.sig`` (the
        folder itself is not changed), for the server to verify against the namespace's keys.

        Files are hashed locally (large ones while they go up, in resumable chunks); only blobs
        the server lacks are uploaded, and a file's digest is remembered while it is unchanged.
        Provenance (the git commit and the command) is captured unless ``capture_provenance``
        is false; keys in ``provenance`` override it. The model's environment is what its
        files state (``requirements.txt``, ``python_env.yaml``, ``conda.yaml``, an ``MLmodel``:
        the server reads them), or what ``env_file`` states; never this process's packages.
        ``card`` adds a Markdown file as the version's ``MODEL_CARD.md`` (a folder's own
        ``MODEL_CARD.md`` or ``README.md`` is its card otherwise).
        """
        ref = parse_model_reference(model)
        root = Path(path)
        found = capture(root) if capture_provenance else {}
        if env_file is not None:  # read first: a file that states nothing uploads nothing
            found["environment"] = environment_file(Path(env_file))
        files = collect(root)
        if card is not None:
            if sign is not None:  # the signature covers the folder: the card must be in it
                raise errors.InvalidInput(f"to sign a card, put it in the folder as {CARD_FILE}")
            files = with_card(files, Path(card))
        if sign is not None:
            files = self._with_signature(root, files, Path(sign))
        local = send_files(
            self.http,
            self.retrier,
            ref.namespace,
            files,
            DigestCache(self.cache_dir / "digests"),
            self.workers,
            self._show(progress),
        )
        merged = {**found, **(provenance or {})}
        if datasets:
            merged["datasets"] = datasets
        body = {
            "manifest": {"files": [f.entry.to_dict() for f in local]},
            "description": description,
            "metrics": dict(metrics or {}),
            "params": dict(params or {}),
            "tags": dict(tags or {}),
            "provenance": merged,
            "schema": dict(schema) if schema else None,
        }
        key = idempotency_key or uuid.uuid4().hex
        path = paths.model_versions(ref.namespace, ref.model)
        return self.retrier.run(
            lambda: self.http.record(
                Version, "POST", path, json=body, headers={"Idempotency-Key": key}
            )
        )

    def card(self, version: Version) -> str | None:
        """The text of the version's model card (one of its files, so read it with them):
        ``cairn.card(cairn.get("risk/fraud:3"))``."""
        return read_card(self.http, version)

    def import_version(
        self,
        model: str,
        source: str,
        *,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        provenance: Mapping[str, Any] | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> Version:
        """Register the files under ``source`` (``s3://bucket/prefix``) as a new version of
        ``model``: the server fetches them itself, from a prefix its administrator allows.

        >>> v = cairn.import_version("risk/fraud", "s3://models/fraud/v3")  # doctest: +SKIP
        >>> v.provenance["extra"]["imported_from"]  # doctest: +SKIP
        's3://models/fraud/v3'
        """
        ref = parse_model_reference(model)
        body = {
            "source": source,
            "description": description,
            "tags": dict(tags or {}),
            "metrics": dict(metrics or {}),
            "params": dict(params or {}),
            "provenance": dict(provenance or {}),
            "schema": dict(schema) if schema else None,
        }
        path = paths.model_imports(ref.namespace, ref.model)
        return self.http.record(Version, "POST", path, json=body)

    def pull(
        self,
        ref: str,
        dest: str | Path,
        *,
        progress: bool | None = None,
        trusted_keys: list[str] | None = None,
        require_signature: bool | None = None,
        allow_unsigned: bool = False,
        override: str | None = None,
        replace: bool = False,
    ) -> Pulled:
        """Download the version ``ref`` names into the folder ``dest``; return the version
        and the check of its signature made here:

        >>> pulled = cairn.pull("risk/fraud@production", "/srv/fraud")  # doctest: +SKIP
        >>> pulled.version.number, pulled.signature_check.status  # doctest: +SKIP
        (7, 'verified')

        Blobs go through a content-addressed cache (``CAIRN_CACHE_DIR``); every byte is
        checked against its digest, and interrupted downloads resume where they stopped.
        A signature (``model.sig``) is verified again here, against ``trusted_keys`` (PEM) or
        else the namespace's keys; the result is ``signature_check``. A signature that does not
        verify raises ``VersionBlocked``. A version without one raises ``SignatureRejected``
        when a signature is required: ``require_signature``, or ``trusted_keys`` given (a key
        to verify with is a signature asked for), or else the namespace's rule; unless
        ``allow_unsigned`` takes an unsigned version knowingly. Either way nothing is written
        to ``dest``.

        A version that a failed check blocks (integrity, scan, signature, its policy's gate,
        on the server; or the signature checked here) raises ``VersionBlocked`` and writes
        nothing, unless ``override`` gives a reason: the server accepts it from an admin of the
        namespace and records it in the audit log.

        ``dest`` ends up holding exactly the version: a folder that holds anything else is
        refused (``Conflict``) before anything is downloaded, unless ``replace`` removes
        those entries (``cairn.client.folders``: links are never followed out of it).
        """
        version = self.retrier.run(lambda: self.get(ref, override=override))
        entries = [FileEntry(check_path(f.path), f.size, f.digest) for f in version.files or []]
        _check_listing(version, entries)
        paths = [e.path for e in entries]
        folders.plan(Path(dest), paths, replace=replace, what=version.ref)
        downloader = Downloader(self.http, self.cache_dir, self.retrier, version.namespace)
        unique = list({e.digest: e for e in entries}.values())
        with Bar(self._show(progress), "downloading", sum(e.size for e in unique)) as bar:
            parallel(self.workers, unique, lambda e: downloader.fetch(e, bar.advance))
        if require_signature is None and trusted_keys is not None:
            require_signature = True
        check = self._check_signature(
            version, entries, downloader, trusted_keys, require_signature, allow_unsigned
        )
        if check.status == "failed" and override is None:
            raise errors.VersionBlocked(
                f"{version.ref}: the signature does not verify here: {check.message}",
                gates=[{"gate": "signature", "reason": check.message}],
            )
        layout = folders.plan(Path(dest), paths, replace=replace, what=version.ref)
        folders.write(layout, [(e.path, downloader.path_of(e.digest)) for e in entries])
        return Pulled(version, check)

    # Helpers

    def _with_signature(
        self, root: Path, files: list[tuple[str, Path]], key: Path
    ) -> list[tuple[str, Path]]:
        if not root.is_dir():
            raise errors.InvalidInput("--sign signs a folder; put the file in one")
        bundle = sign_folder(root, key)
        spool = self.cache_dir / "signatures"
        spool.mkdir(parents=True, exist_ok=True)
        signature = spool / f"{uuid.uuid4().hex}.sig"
        signature.write_bytes(bundle)
        return [(p, s) for p, s in files if p != SIGNATURE_FILE] + [(SIGNATURE_FILE, signature)]

    def _check_signature(
        self,
        version: Version,
        entries: list[FileEntry],
        downloader: Downloader,
        trusted_keys: list[str] | None,
        require: bool | None,
        allow_unsigned: bool,
    ) -> SignatureCheck:
        namespace = version.namespace
        signature = next((e for e in entries if e.path == SIGNATURE_FILE), None)
        if signature is None:
            if allow_unsigned:
                return SignatureCheck("unsigned")
            if require is None:
                require = self.namespace(namespace).require_signature
            if require:
                raise errors.SignatureRejected(
                    f"{version.ref} is not signed (take it anyway with --allow-unsigned)",
                    status="unsigned",
                )
            return SignatureCheck("unsigned")
        if require is None:
            require = self.namespace(namespace).require_signature
        if trusted_keys is None:
            trusted_keys = [k.public_key for k in self.keys(namespace)]
        bundle = downloader.path_of(signature.digest).read_bytes()
        files = {e.path: (e.size, e.digest) for e in entries}  # each digest checked on arrival
        digests = {e.path: e.digest for e in entries}

        def range_digest(path: str, start: int, end: int) -> str:  # a sharded signature's
            return file_range_digest(downloader.path_of(digests[path]), start, end)

        result = verify_signature(
            bundle, trusted_keys, files, signature_path=SIGNATURE_FILE, range_digest=range_digest
        )
        if require and not result.verified:
            raise errors.SignatureRejected(
                f"{version.ref}: the signature does not verify: {result.message}",
                reason=result.reason.value if result.reason else None,
            )
        status: Literal["verified", "failed"] = "verified" if result.verified else "failed"
        return SignatureCheck(status, result.signer, result.message)

    def _show(self, progress: bool | None) -> bool:
        return self.progress if progress is None else progress


def _check_listing(version: Version, entries: list[FileEntry]) -> None:
    """The files served must be the ones registered: every byte is checked against the digest
    the list names, so a list edited in the database (another blob of the same size) would
    otherwise deliver other bytes as verified. The manifest digest is under the audit log."""
    listed = manifest_digest(entries)
    if listed != version.manifest_digest:
        raise errors.DigestMismatch(
            f"the files served for {version.ref} hash to {listed}, not to its manifest "
            f"digest {version.manifest_digest}: its record was changed outside Cairn",
            expected=version.manifest_digest,
            actual=listed,
        )
