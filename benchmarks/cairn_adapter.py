"""Cairn's adapter for the shared registry harness (/work/shared/bench/registry_workload.py).

Load it with ``--target benchmarks.cairn_adapter:CairnAdapter`` (the project's root and the
harness folder on ``PYTHONPATH``; ``benchmarks/run.py`` does all of that).

Mapping of the harness's calls onto Cairn's HTTP API (all under ``/api/v1``; namespace
``default`` unless ``CAIRN_BENCH_NAMESPACE`` says otherwise):

=========================  ==============================================================
create_model(name)         ``POST /models/{ns}`` ``{name}``
create_version(name, src)  ``POST /models/{ns}/{name}/versions`` with a one-file manifest
                           naming one tiny blob uploaded once in setup, the tags, and the
                           source URI as ``params.source``; an ``Idempotency-Key`` header
                           as the SDK's ``push`` always sends one
get_version                ``GET /models/{ns}/{name}/versions/{n}`` (with its files)
set_alias                  ``PUT /models/{ns}/{name}/aliases/{alias}`` ``{"version": n}``
get_version_by_alias       ``GET /models/{ns}/{name}/aliases/{alias}``
search_versions            ``GET /versions?filter=tags.k = 'v' AND name = 'x'&limit=&cursor=``
search_models              ``GET /models?filter=name LIKE 'p%'&limit=&cursor=``
list_versions              ``GET /models/{ns}/{name}/versions?limit=&cursor=`` (newest first)
upload_artifact            the SDK's path (``transfer.send_files``): a file above 32 MiB goes
                           up through ``Uploader.upload_hashing`` (a resumable session of 64 MiB
                           PATCHes, hashed while it goes up, the digest checked by the server
                           at ``finish``); smaller content is hashed first, ``POST
                           /namespaces/<ns>/blobs/missing``, then one ``PUT …/blobs/{digest}``
download_artifact          ``GET …/blobs/{digest}``, hashed while it streams and compared with
                           the digest (what ``transfer.Downloader`` does, minus its cache file);
                           ``CAIRN_BENCH_DOWNLOAD=fetch`` runs ``Downloader.fetch`` itself
artifact_url (curl mode)   ``/api/v1/namespaces/<ns>/blobs/{digest}``: curl PUTs it in one request
bulk_load (W4)             models and 200 versions through REST, the rest straight into
                           Cairn's tables with SQLAlchemy Core (``cairn.storage.sql.tables``)
=========================  ==============================================================

Artifacts are content-addressed in Cairn, so the harness's artifact paths map to digests in
a table kept by the adapter (shared by its clones). Because Cairn never stores the same
bytes twice, uploading the harness's 1 GiB file a second time would cost nothing; to time a
real upload every time, the adapter *forgets* a blob it uploaded earlier (deletes its
``blobs`` row and moves its file aside) before uploading it again. That reset needs the
server's data folder (``CAIRN_BENCH_DATA_DIR``, embedded default layout) and costs a few
milliseconds inside the timed upload; it only ever touches blobs no version refers to. The
moved-aside files are deleted only when the adapter closes (MLflow, too, keeps every artifact
during the run; freeing them earlier would hand Cairn recycled page cache, which is much
cheaper to write on this VM).

Environment (set by ``benchmarks/run.py``):
  CAIRN_BENCH_DATA_DIR    the server's CAIRN_DATA_DIR: direct W4 load and blob reset
  CAIRN_BENCH_CURL_FILE   the local file curl will PUT (W5 curl mode needs its digest first)
  CAIRN_BENCH_DOWNLOAD    stream (default) | fetch
  CAIRN_BENCH_NAMESPACE   default
  CAIRN_BENCH_HARNESS     folder of the shared harness (default /work/shared/bench)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

import httpx

_HARNESS = os.environ.get("CAIRN_BENCH_HARNESS", "/work/shared/bench")
if _HARNESS not in sys.path:
    sys.path.append(_HARNESS)

from adapters import AdapterError, RegistryAdapter  # noqa: E402

from cairn import errors as cairn_errors  # noqa: E402
from cairn.client.http import Http  # noqa: E402
from cairn.client.transfer import (  # noqa: E402
    READ_SIZE,
    SINGLE_MAX,
    Downloader,
    LocalFile,
    Retrier,
    Uploader,
    sha256_file,
)
from cairn.domain.digests import digest_bytes, hex_of  # noqa: E402
from cairn.domain.manifest import FileEntry  # noqa: E402
from cairn.wire import paths  # noqa: E402

SETUP_BLOB = b"cairn benchmark: the weights every registered version points at\n"
SETUP_PATH = "model.bin"
TRANSFER_TIMEOUT = httpx.Timeout(900.0, connect=10.0)


class CairnAdapter(RegistryAdapter):
    """Cairn over HTTP, through the SDK's transfer code for artifacts."""

    name = "cairn"
    features = frozenset({"tag_filter", "name_like", "aliases", "artifacts", "direct_db_load"})
    API = "/api/v1"

    # Shared by every clone in the process (one server per harness run).
    _lock = threading.Lock()
    _setup_digest: str | None = None
    _artifacts: dict[str, tuple[str, int]] = {}  # harness path -> (digest, size)
    _uploaded: set[str] = set()  # digests this process uploaded (and may reset)
    _source_digests: dict[str, str] = {}  # local file -> digest it was uploaded as
    _engine: Any = None

    def __init__(self, base_url: str, timeout_s: float = 120.0, **opts: Any) -> None:
        super().__init__(base_url, timeout_s=timeout_s, **opts)
        self.ns = os.environ.get("CAIRN_BENCH_NAMESPACE", "default")
        self._blobs = paths.namespace(self.ns) + "/blobs"  # where the namespace's blobs are
        self.http = Http(self.base_url, client=self.client)  # the SDK's HTTP layer
        self.retrier = Retrier(120.0)  # the SDK's default retry budget
        data_dir = os.environ.get("CAIRN_BENCH_DATA_DIR")
        self.data_dir = Path(data_dir) if data_dir else None
        self._sign_in()
        self.download_mode = os.environ.get("CAIRN_BENCH_DOWNLOAD", "stream")
        if self.download_mode not in ("stream", "fetch"):
            raise SystemExit("CAIRN_BENCH_DOWNLOAD is stream or fetch")

    def _sign_in(self) -> None:
        """Every call carries the admin token the server wrote on first start, as the CLI on
        the server's machine does. curl (W5's curl mode) is given the same header through a
        curl config file of its own (``CURL_HOME``), since the harness names no headers."""
        token = os.environ.get("CAIRN_TOKEN")
        if token is None and self.data_dir is not None:
            token_file = self.data_dir / "admin-token"
            token = token_file.read_text().strip() if token_file.exists() else None
        if token is None:
            return
        self.client.headers["Authorization"] = f"Bearer {token}"
        curl_home = Path(os.environ.get("TMPDIR", "/tmp")) / f"cairn-bench-curl-{os.getpid()}"
        curl_home.mkdir(mode=0o700, exist_ok=True)
        rc = curl_home / ".curlrc"
        rc.write_text(f'header = "Authorization: Bearer {token}"\n')
        rc.chmod(0o600)
        os.environ["CURL_HOME"] = str(curl_home)

    def close(self) -> None:
        self._empty_trash()
        super().close()

    # ------------------------------------------------------------------ plumbing
    def _check(self, r: httpx.Response) -> Any:
        if r.status_code >= 400:
            raise AdapterError(
                f"HTTP {r.status_code} {r.request.method} {r.request.url.path}: {r.text[:300]}",
                r.status_code,
                r.text[:2000],
            )
        if not r.content:
            return {}
        try:
            return r.json()
        except ValueError:
            return {}

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            return self._check(self.client.request(method, self.API + path, **kw))
        except httpx.HTTPError as e:
            raise AdapterError(f"transport: {e!r}") from e

    def _model(self, name: str) -> str:
        return f"/models/{quote(self.ns, safe='')}/{quote(name, safe='')}"

    @staticmethod
    def _as_version(doc: dict) -> dict:
        # The harness reads MLflow's spelling ("version") when it checks W2's listing.
        doc["version"] = doc.get("number")
        return doc

    @staticmethod
    def _quoted(value: str) -> str:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    # ------------------------------------------------------------------ setup blob
    def _manifest(self) -> dict:
        digest = self._ensure_setup_blob()
        return {"files": [{"path": SETUP_PATH, "size": len(SETUP_BLOB), "digest": digest}]}

    def _ensure_setup_blob(self) -> str:
        cls = type(self)
        if cls._setup_digest is not None:
            return cls._setup_digest
        with cls._lock:
            if cls._setup_digest is None:
                digest = digest_bytes(SETUP_BLOB)
                missing = self._call("POST", f"{self._blobs}/missing", json={"digests": [digest]})
                if digest in missing.get("missing", []):
                    self._call(
                        "PUT",
                        f"{self._blobs}/{digest}",
                        content=SETUP_BLOB,
                        headers={"Content-Type": "application/octet-stream"},
                    )
                cls._setup_digest = digest
        return cls._setup_digest

    # ------------------------------------------------------------------ models and versions
    def create_model(self, name: str) -> None:
        self._call("POST", f"/models/{quote(self.ns, safe='')}", json={"name": name})

    def delete_model(self, name: str) -> None:
        self._call("DELETE", self._model(name))

    def create_version(self, name: str, source: str, tags: dict | None = None) -> int:
        body = {
            "manifest": self._manifest(),
            "tags": {k: str(v) for k, v in (tags or {}).items()},
            "params": {"source": source},
        }
        doc = self._call(
            "POST",
            self._model(name) + "/versions",
            json=body,
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        return int(doc["number"])

    def get_version(self, name: str, version: int) -> dict:
        return self._as_version(self._call("GET", f"{self._model(name)}/versions/{int(version)}"))

    def set_alias(self, name: str, alias: str, version: int) -> None:
        path = f"{self._model(name)}/aliases/{quote(alias, safe='')}"
        self._call("PUT", path, json={"version": int(version)})

    def get_version_by_alias(self, name: str, alias: str) -> dict:
        path = f"{self._model(name)}/aliases/{quote(alias, safe='')}"
        return self._as_version(self._call("GET", path))

    def version_filter(self, name: str | None, tags: dict | None) -> str:
        parts = [f"tags.{k} = {self._quoted(v)}" for k, v in (tags or {}).items()]
        if name is not None:
            parts.append(f"name = {self._quoted(name)}")
        return " AND ".join(parts)

    def search_versions(self, name=None, tags=None, max_results=100, page_token=None):
        params: dict[str, str] = {"limit": str(max_results)}
        flt = self.version_filter(name, tags)
        if flt:
            params["filter"] = flt
        if page_token:
            params["cursor"] = page_token
        d = self._call("GET", "/versions", params=params)
        return [self._as_version(v) for v in d.get("items", [])], d.get("next_cursor")

    def search_models(self, name_prefix=None, max_results=100, page_token=None):
        params: dict[str, str] = {"limit": str(max_results)}
        if name_prefix is not None:
            escaped = name_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params["filter"] = f"name LIKE {self._quoted(escaped + '%')}"
        if page_token:
            params["cursor"] = page_token
        d = self._call("GET", "/models", params=params)
        return d.get("items", []), d.get("next_cursor")

    def list_versions(self, name: str, page_size: int = 100, max_pages: int = 10_000) -> list[dict]:
        """Every version of one model through the model's own listing, newest first."""
        out: list[dict] = []
        cursor = None
        for _ in range(max_pages):
            params = {"limit": str(page_size)}
            if cursor:
                params["cursor"] = cursor
            d = self._call("GET", self._model(name) + "/versions", params=params)
            out.extend(self._as_version(v) for v in d.get("items", []))
            cursor = d.get("next_cursor")
            if not cursor:
                break
        return out

    # ------------------------------------------------------------------ artifacts (W5)
    @staticmethod
    def _local_source(chunks: Any, size: int) -> Path | None:
        """The local file behind the harness's chunk generator, when there is one.

        ``registry_workload.Bench._file_chunks(path)`` reads a file; a user of the SDK would
        push that file, so the adapter hands the SDK the file itself (the generator is never
        started). In-memory chunks (the small files) have no file behind them.
        """
        frame = getattr(chunks, "gi_frame", None)
        if frame is None:
            return None
        path = frame.f_locals.get("path")
        if (
            isinstance(path, (str, os.PathLike))
            and os.path.isfile(path)
            and os.path.getsize(path) == size
        ):
            return Path(path)
        return None

    def upload_artifact(self, path: str, chunks: Iterator[bytes], size: int) -> None:
        try:
            source = self._local_source(chunks, size)
            data: bytes | None = None
            if source is not None and size > SINGLE_MAX:
                # The SDK's path (transfer.send_files) for a large file whose digest it does
                # not remember: hashed while it goes up, the server checking the digest.
                earlier = self._source_digests.get(str(source))
                if earlier in self._uploaded:
                    self._forget_blob(earlier)  # so that the server stores it anew
                digest = Uploader(self.http, self.retrier, self.ns).upload_hashing(
                    source, size, None
                )
                with self._lock:
                    self._artifacts[path] = (digest, size)
                    self._uploaded.add(digest)
                    self._source_digests[str(source)] = digest
                return
            if source is not None:
                digest = sha256_file(source)  # small files: hashed before asking what is missing
            else:
                data = b"".join(chunks)
                digest = digest_bytes(data)
            got = len(data) if data is not None else size
            if got != size:
                raise AdapterError(f"{path}: got {got} bytes, expected {size}")
            if digest in self._uploaded:
                self._forget_blob(digest)  # so that this upload moves the bytes again
            missing = self.retrier.run(
                lambda: self.http.json("POST", f"{self._blobs}/missing", json={"digests": [digest]})
            )["missing"]
            if digest in missing:
                if data is not None and size <= SINGLE_MAX:
                    # Uploader._put_whole, from memory instead of from a file.
                    self.retrier.run(
                        lambda: self.http.request(
                            "PUT",
                            f"{self._blobs}/{digest}",
                            content=data,
                            headers={
                                "Content-Length": str(size),
                                "Content-Type": "application/octet-stream",
                            },
                            timeout=TRANSFER_TIMEOUT,
                        )
                    )
                else:
                    spooled = None
                    if source is None:
                        spooled = self._spool(data or b"")
                        source = spooled
                    try:
                        item = LocalFile(Path(path).name, source, size, digest)
                        Uploader(self.http, self.retrier, self.ns).upload(item, None)
                    finally:
                        if spooled is not None:
                            spooled.unlink(missing_ok=True)
        except cairn_errors.CairnError as e:
            raise AdapterError(f"cairn: {type(e).__name__}: {e}") from e
        except httpx.HTTPError as e:
            raise AdapterError(f"transport: {e!r}") from e
        with self._lock:
            self._artifacts[path] = (digest, size)
            self._uploaded.add(digest)

    def _spool(self, data: bytes) -> Path:
        folder = Path(os.environ.get("TMPDIR", "/tmp")) / "cairn-bench-spool"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / uuid.uuid4().hex
        target.write_bytes(data)
        return target

    def _lookup(self, path: str) -> tuple[str, int]:
        with self._lock:
            found = self._artifacts.get(path)
        if found is None:
            raise AdapterError(f"no artifact {path!r} was uploaded through this adapter", 404)
        return found

    def download_artifact(self, path: str) -> Iterator[bytes]:
        digest, size = self._lookup(path)
        if self.download_mode == "fetch":
            yield from self._download_fetch(path, digest, size)
            return
        hasher = hashlib.sha256()
        got = 0
        try:
            with self.http.stream("GET", f"{self._blobs}/{digest}", timeout=TRANSFER_TIMEOUT) as r:
                if r.status_code >= 400:
                    r.read()
                    self._check(r)
                served = r.headers.get("Cairn-Digest")
                if served != digest:
                    raise AdapterError(f"{path}: server says {served}, expected {digest}")
                for block in r.iter_raw(READ_SIZE):
                    hasher.update(block)
                    got += len(block)
                    yield block
        except httpx.HTTPError as e:
            raise AdapterError(f"transport: {e!r}") from e
        actual = "sha256:" + hasher.hexdigest()
        if actual != digest or got != size:
            raise AdapterError(f"{path}: {got} bytes hashing to {actual}, not {digest}")

    def _download_fetch(self, path: str, digest: str, size: int) -> Iterator[bytes]:
        """``Downloader.fetch`` exactly: into a cache file, fsynced, verified, renamed."""
        cache = Path(os.environ.get("TMPDIR", "/tmp")) / f"cairn-bench-cache-{os.getpid()}"
        downloader = Downloader(self.http, cache, self.retrier, self.ns)
        target = downloader.path_of(digest)
        target.unlink(missing_ok=True)  # a cached copy would skip the transfer
        try:
            try:
                downloader.fetch(FileEntry(Path(path).name, size, digest), None)
            except cairn_errors.CairnError as e:
                raise AdapterError(f"cairn: {type(e).__name__}: {e}") from e
            except httpx.HTTPError as e:
                raise AdapterError(f"transport: {e!r}") from e
            with target.open("rb") as f:  # hand the verified bytes to the harness
                while block := f.read(8 * READ_SIZE):
                    yield block
        finally:
            target.unlink(missing_ok=True)

    def artifact_url(self, path: str) -> str:
        """The blob URL curl PUTs to and GETs from. The digest must be known before curl
        uploads, so it is read from the harness's ``<file>.sha256`` next to the W5 file."""
        with self._lock:
            found = self._artifacts.get(path)
        if found is None:
            local = os.environ.get("CAIRN_BENCH_CURL_FILE")
            if not local:
                raise AdapterError("curl mode needs CAIRN_BENCH_CURL_FILE (the file curl PUTs)")
            with open(local + ".sha256") as f:
                digest = "sha256:" + f.read().strip()
            found = (digest, os.path.getsize(local))
            if digest in self._uploaded:
                self._forget_blob(digest)
            with self._lock:
                self._artifacts[path] = found
                self._uploaded.add(digest)
        return f"{self.base_url}{self.API}{self._blobs}/{found[0]}"

    # ------------------------------------------------------------------ direct DB access
    def _data_dir(self) -> Path:
        if self.data_dir is None:
            raise AdapterError("CAIRN_BENCH_DATA_DIR (the server's CAIRN_DATA_DIR) is not set")
        return self.data_dir

    def _db(self) -> Any:
        cls = type(self)
        with cls._lock:
            if cls._engine is None:
                from cairn.config import load_settings
                from cairn.storage.sql.engine import open_engine

                settings = load_settings(data_dir=self._data_dir())
                cls._engine = open_engine(settings.effective_database_url)
        return cls._engine

    def _blob_file(self, digest: str) -> Path:
        from cairn.config import load_settings

        url = load_settings(data_dir=self._data_dir()).effective_blob_url
        root = Path(unquote(urlparse(url).path))
        hexdigest = hex_of(digest)
        return root / "blobs" / "sha256" / hexdigest[:2] / hexdigest

    def _trash(self) -> Path:
        # Forgotten blobs stay here until close(): MLflow keeps every artifact it was sent, and
        # on this VM writing into page cache that was not freed just before costs ~3 s/GiB
        # more, so both servers must hold on to what they stored for the figures to compare.
        return self._data_dir() / "bench-trash"

    def _forget_blob(self, digest: str) -> None:
        """Benchmark-only reset: drop a blob no version uses, so the next upload is real."""
        if self.data_dir is None:
            return  # no reset possible: the next upload of these bytes is deduplicated
        from sqlalchemy import delete, exists

        from cairn.storage.sql.engine import WRITE
        from cairn.storage.sql.tables import blobs, version_files

        with self._db().connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(
                delete(blobs).where(
                    blobs.c.digest == digest,
                    ~exists().where(version_files.c.digest == digest),
                )
            )
        stored = self._blob_file(digest)
        trash = self._trash()
        trash.mkdir(exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            stored.replace(trash / f"{stored.name}-{uuid.uuid4().hex[:8]}")

    def _empty_trash(self) -> None:
        if self.data_dir is not None and self._trash().is_dir():
            shutil.rmtree(self._trash(), ignore_errors=True)

    # ------------------------------------------------------------------ W4 bulk load
    def bulk_load(
        self,
        n_models,
        versions_per_model,
        model_name,
        version_tags,
        source_fn,
        threads=4,
        deadline_s=3600,
        batch_rows=20_000,
        probe_versions=200,
    ):
        """Models and the first ``probe_versions`` versions of the first model through REST
        (timed: the real path); every other version, its file row and its three tags straight
        into Cairn's tables, shaped exactly as ``VersionService.register`` writes them."""
        if self.data_dir is None:
            return super().bulk_load(
                n_models,
                versions_per_model,
                model_name,
                version_tags,
                source_fn,
                threads=threads,
                deadline_s=deadline_s,
            )
        from sqlalchemy import func, insert, select, update

        from cairn.domain.manifest import parse_manifest
        from cairn.domain.metadata import DEFAULT_REQUIRED_FIELDS, completeness
        from cairn.domain.registrations import parse_metadata
        from cairn.services.versions import INITIAL_STATE
        from cairn.storage.sql.engine import WRITE
        from cairn.storage.sql.tables import (
            models,
            namespaces,
            version_files,
            versions,
        )
        from cairn.storage.sql.tables import (
            version_tags as version_tags_table,
        )

        t0 = time.perf_counter()
        created = 0
        for mi in range(n_models):
            try:
                self.create_model(model_name(mi))
                created += 1
            except AdapterError as e:
                if e.status != 409:
                    raise
        models_s = time.perf_counter() - t0

        probe = min(probe_versions, versions_per_model)
        tp = time.perf_counter()
        for vi in range(1, probe + 1):
            self.create_version(model_name(0), source_fn(0, vi), version_tags(0, vi))
        probe_s = time.perf_counter() - tp

        tb = time.perf_counter()
        engine = self._db()
        manifest = parse_manifest(self._manifest())
        files = manifest.files
        author = "admin"  # the principal whose token the adapter uses
        names = [model_name(mi) for mi in range(n_models)]
        with engine.connect() as conn, conn.begin():
            rows = conn.execute(
                select(models.c.id, models.c.name, namespaces.c.required_fields)
                .join(namespaces, namespaces.c.id == models.c.namespace_id)
                .where(
                    namespaces.c.name == self.ns,
                    models.c.name.in_(names),
                    models.c.deleted.is_(False),
                )
            ).all()
            first_id = (
                int(conn.execute(select(func.coalesce(func.max(versions.c.id), 0))).scalar_one())
                + 1
            )
        ids = {name: (mid, req) for mid, name, req in rows}
        total_versions = n_models * versions_per_model
        base = datetime.now(UTC) - timedelta(milliseconds=total_versions)
        v_rows: list[dict] = []
        f_rows: list[dict] = []
        t_rows: list[dict] = []
        next_id = first_id
        seq = 0
        total = 0

        def flush() -> None:
            if not v_rows:
                return
            with engine.connect().execution_options(**WRITE) as conn, conn.begin():
                conn.execute(insert(versions), v_rows)
                conn.execute(insert(version_files), f_rows)
                conn.execute(insert(version_tags_table), t_rows)
            v_rows.clear()
            f_rows.clear()
            t_rows.clear()

        for mi in range(n_models):
            model_id, required = ids[model_name(mi)]
            required = DEFAULT_REQUIRED_FIELDS if required is None else list(required)
            start = probe + 1 if mi == 0 else 1
            for vi in range(start, versions_per_model + 1):
                seq += 1
                at = base + timedelta(milliseconds=seq)
                meta = parse_metadata(
                    tags={k: str(v) for k, v in version_tags(mi, vi).items()},
                    params={"source": source_fn(mi, vi)},
                ).document()
                score, missing = completeness(meta, required)
                v_rows.append(
                    {
                        "id": next_id,
                        "model_id": model_id,
                        "number": vi,
                        "manifest_digest": manifest.digest,
                        "size": manifest.total_size,
                        "file_count": len(files),
                        "state": INITIAL_STATE,
                        "description": meta["description"],
                        "author": author,
                        "provenance": meta["provenance"],
                        "io_schema": meta["schema"],
                        "metrics": meta["metrics"],
                        "params": meta["params"],
                        "completeness": score,
                        "missing_fields": missing,
                        "idempotency_key": None,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
                f_rows.extend(
                    {"version_id": next_id, "path": f.path, "size": f.size, "digest": f.digest}
                    for f in files
                )
                t_rows.extend(
                    {"version_id": next_id, "key": k, "value": v} for k, v in meta["tags"].items()
                )
                next_id += 1
                total += 1
                if len(v_rows) >= batch_rows:
                    flush()
        flush()
        now = datetime.now(UTC)
        with engine.connect().execution_options(**WRITE) as conn, conn.begin():
            conn.execute(
                update(models)
                .where(models.c.id.in_([mid for mid, _ in ids.values()]))
                .values(next_number=versions_per_model + 1, updated_at=now)
            )
        bulk_s = time.perf_counter() - tb

        # The bulk rows must read back exactly like rows registered through the API.
        rest = self.get_version(model_name(0), 1)
        bulk = self.get_version(model_name(n_models - 1), 1)
        same_shape = (
            sorted(rest) == sorted(bulk)
            and all(
                rest[k] == bulk[k]
                for k in (
                    "state",
                    "author",
                    "completeness",
                    "files",
                    "size",
                    "file_count",
                    "manifest_digest",
                    "provenance",
                    "schema",
                    "metrics",
                    "description",
                )
            )
            and set(rest["tags"]) == set(bulk["tags"])
        )
        return {
            "method": "models + first versions through REST; the rest via SQLAlchemy Core "
            "into cairn.storage.sql.tables (not REST)",
            "models_created": created,
            "models_s": round(models_s, 2),
            "rest_probe_versions": probe,
            "rest_versions_per_s": round(probe / probe_s, 1) if probe_s else None,
            "bulk_versions": total,
            "bulk_versions_per_s": round(total / bulk_s, 1) if bulk_s else None,
            "bulk_rows_match_rest_rows": same_shape,
            "load_s": round(time.perf_counter() - t0, 1),
            "errors": 0,
        }
