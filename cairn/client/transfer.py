"""Moving bytes: hashing local files, uploading what the server lacks, downloading into a
content-addressed cache with resume and verification.

Every transfer survives the server going away for a while: a broken upload session asks the
server how far it got and carries on from there; a broken download resumes with ``Range``.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from cairn import errors
from cairn.client.digests import DigestCache
from cairn.client.http import Http, raise_for_error
from cairn.client.progress import Bar
from cairn.domain.manifest import FileEntry
from cairn.domain.paths import check_path
from cairn.wire import paths

READ_SIZE = 1 << 20
SINGLE_MAX = 32 << 20  # larger files go up through a resumable session
CHUNK = 64 << 20
MAX_STALLS = 20  # failed appends in a row, each followed by asking the server for its offset
T = TypeVar("T")
Progress = Callable[[int], None]
RETRYABLE = (httpx.TransportError, errors.ServerError)


@dataclass(frozen=True, slots=True)
class LocalFile:
    path: str  # relative, '/'-separated: as in the manifest
    source: Path
    size: int
    digest: str

    @property
    def entry(self) -> FileEntry:
        return FileEntry(self.path, self.size, self.digest)


def collect(root: Path) -> list[tuple[str, Path]]:
    """The files to push: ``root`` itself, or every regular file below it, sorted."""
    if root.is_file():
        return [(check_path(root.name), root)]
    if not root.is_dir():
        raise errors.InvalidInput(f"{root} is neither a file nor a folder")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            source = Path(dirpath) / name
            if source.is_symlink() or not source.is_file():
                raise errors.InvalidInput(f"{source} is not a regular file (links are not pushed)")
            found.append((check_path(source.relative_to(root).as_posix()), source))
    if not found:
        raise errors.InvalidInput(f"{root} holds no files")
    return found


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 * READ_SIZE):
            hasher.update(block)
            if progress:
                progress(len(block))
    return "sha256:" + hasher.hexdigest()


def hash_all(
    files: list[tuple[str, Path]], workers: int, progress: Progress | None
) -> list[LocalFile]:
    """Hash files in parallel (hashlib releases the GIL on large buffers)."""

    def one(item: tuple[str, Path]) -> LocalFile:
        rel, source = item
        size = source.stat().st_size
        return LocalFile(rel, source, size, sha256_file(source, progress))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, files))


class Retrier:
    """Retries an operation across transport failures and 5xx answers, for a bounded time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def run(self, operation: Callable[[], T], on_retry: Callable[[], None] | None = None) -> T:
        deadline = time.monotonic() + self.seconds
        delay = 0.1
        while True:
            try:
                return operation()
            except RETRYABLE:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                if on_retry:
                    on_retry()


def _file_range(path: Path, start: int, length: int, progress: Progress | None) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(start)
        left = length
        while left > 0:
            block = f.read(min(READ_SIZE, left))
            if not block:
                raise errors.SizeMismatch(f"{path} shrank while it was being uploaded")
            left -= len(block)
            if progress:
                progress(len(block))
            yield block


class _RunningHash:
    """The sha256 of a file sent in order, where a resumed send may repeat bytes already
    hashed: each byte is hashed once, the first time it passes."""

    def __init__(self) -> None:
        self.hasher = hashlib.sha256()
        self.hashed = 0

    def feed(self, blocks: Iterator[bytes], start: int) -> Iterator[bytes]:
        for block in blocks:
            end = start + len(block)
            if end > self.hashed:
                self.hasher.update(block[max(0, self.hashed - start) :])
                self.hashed = end
            start = end
            yield block

    def digest(self) -> str:
        return "sha256:" + self.hasher.hexdigest()


class Uploader:
    """Uploads blobs into ``namespace``."""

    def __init__(self, http: Http, retrier: Retrier, namespace: str, chunk: int = CHUNK) -> None:
        self.http = http
        self.retrier = retrier
        self.namespace = namespace
        self.chunk = chunk

    def upload(self, item: LocalFile, progress: Progress | None) -> None:
        if item.size <= SINGLE_MAX:
            self.retrier.run(lambda: self._put_whole(item, progress))
        else:
            self._put_session(item.source, item.size, item.digest, progress)

    def _put_whole(self, item: LocalFile, progress: Progress | None) -> None:
        self.http.request(
            "PUT",
            paths.blob(self.namespace, item.digest),
            content=_file_range(item.source, 0, item.size, progress),
            headers={"Content-Length": str(item.size), "Content-Type": "application/octet-stream"},
        )

    def upload_hashing(self, source: Path, size: int, progress: Progress | None) -> str:
        """Upload a large file whose digest is not known yet, hashing it as it goes up (one
        pass over the file instead of two); return its digest. The server checks it."""
        return self._put_session(source, size, None, progress)

    def _put_session(
        self, source: Path, size: int, digest: str | None, progress: Progress | None
    ) -> str:
        session = self.retrier.run(lambda: self.http.json("POST", paths.uploads(self.namespace)))[
            "id"
        ]
        running = _RunningHash() if digest is None else None
        offset, stalled = 0, 0
        while offset < size:
            length = min(self.chunk, size - offset)
            blocks = _file_range(source, offset, length, progress)
            try:
                self.http.request(
                    "PATCH",
                    paths.upload(self.namespace, session),
                    content=running.feed(blocks, offset) if running else blocks,
                    headers={
                        "Upload-Offset": str(offset),
                        "Content-Length": str(length),
                        "Content-Type": "application/octet-stream",
                    },
                )
                offset, stalled = offset + length, 0
            except (*RETRYABLE, errors.UploadOffsetMismatch):
                stalled += 1
                if stalled > MAX_STALLS:
                    raise
                offset = self._where(session)  # ask the server how far it got, then go on
        # Without a running hash, the digest was given (see the two callers).
        final = running.digest() if running is not None else str(digest)
        self.retrier.run(
            lambda: self.http.request(
                "POST", paths.finish_upload(self.namespace, session), params={"digest": final}
            )
        )
        return final

    def _where(self, session: str) -> int:
        status = self.retrier.run(
            lambda: self.http.json("GET", paths.upload(self.namespace, session))
        )
        return int(status["offset"])


def send_files(
    http: Http,
    retrier: Retrier,
    namespace: str,
    files: list[tuple[str, Path]],
    digests: DigestCache,
    workers: int,
    show: bool,
) -> list[LocalFile]:
    """Make sure ``namespace`` holds the bytes of every file; return the files with digests.

    Files whose digest is remembered, and small files (hashed first, in parallel), are sent
    only if the namespace lacks them (even when the server holds them for another namespace:
    sending the bytes is how a client shows it has them). A large file not seen before is
    hashed *while* it goes up, one read instead of two; should the namespace hold it already,
    the bytes went up for nothing, but only that once, since its digest is remembered from
    then on.
    """
    stats = {rel: source.stat() for rel, source in files}
    known, small, large = [], [], []
    for rel, source in files:
        digest = digests.get(source, stats[rel])
        if digest is not None:
            known.append(LocalFile(rel, source, stats[rel].st_size, digest))
        elif stats[rel].st_size <= SINGLE_MAX:
            small.append((rel, source))
        else:
            large.append((rel, source))
    with Bar(show, "hashing", sum(stats[rel].st_size for rel, _ in small)) as bar:
        hashed = hash_all(small, workers, bar.advance)
    for item in hashed:
        digests.put(item.source, stats[item.path], item.digest)
    local = known + hashed
    missing: set[str] = set()
    if local:
        body = {"digests": [f.digest for f in local]}
        path = paths.missing_blobs(namespace)
        missing = set(retrier.run(lambda: http.json("POST", path, json=body))["missing"])
    todo: list[LocalFile | tuple[str, Path]] = [
        *{f.digest: f for f in local if f.digest in missing}.values(),
        *large,
    ]
    uploader = Uploader(http, retrier, namespace)

    def send(item: LocalFile | tuple[str, Path], bar: Bar) -> LocalFile | None:
        if isinstance(item, LocalFile):
            uploader.upload(item, bar.advance)
            return None
        rel, source = item
        size = stats[rel].st_size
        digest = uploader.upload_hashing(source, size, bar.advance)
        digests.put(source, stats[rel], digest)
        return LocalFile(rel, source, size, digest)

    total = sum(f.size if isinstance(f, LocalFile) else stats[f[0]].st_size for f in todo)
    with Bar(show, "uploading", total) as bar:
        sent = parallel(workers, todo, lambda item: send(item, bar))
    return local + [f for f in sent if f is not None]


class Downloader:
    """Downloads blobs of ``namespace`` into ``cache/blobs/sha256/<hex>``, verified,
    resumable."""

    def __init__(self, http: Http, cache: Path, retrier: Retrier, namespace: str) -> None:
        self.http = http
        self.cache = cache
        self.retrier = retrier
        self.namespace = namespace

    def path_of(self, digest: str) -> Path:
        return self.cache / "blobs" / "sha256" / digest.partition(":")[2]

    def fetch(self, entry: FileEntry, progress: Progress | None) -> Path:
        target = self.path_of(entry.digest)
        if target.exists():
            # Cached bytes are checked again before they are used: the cache is written without
            # fsync, so after a crash, or if someone edits it, a cached file may not be intact.
            if target.stat().st_size == entry.size and sha256_file(target) == entry.digest:
                if progress:
                    progress(entry.size)
                return target
            target.unlink()
        partial = self.cache / "partial" / target.name
        partial.parent.mkdir(parents=True, exist_ok=True)
        hashers: list[Any] = []
        self.retrier.run(lambda: self._download(entry, partial, progress, hashers))
        # A download that ran start to end in one go was hashed as it streamed; one that was
        # resumed is hashed again from the file.
        digest = "sha256:" + hashers[-1].hexdigest() if hashers else sha256_file(partial)
        if digest != entry.digest or partial.stat().st_size != entry.size:
            partial.unlink()
            raise errors.DigestMismatch(
                f"{entry.path}: downloaded bytes hash to {digest}, not {entry.digest}",
                path=entry.path,
                expected=entry.digest,
                actual=digest,
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.chmod(0o444)
        partial.replace(target)
        return target

    def _download(
        self, entry: FileEntry, partial: Path, progress: Progress | None, hashers: list[Any]
    ) -> None:
        hashers.clear()
        have = partial.stat().st_size if partial.exists() else 0
        if have > entry.size:
            partial.unlink()
            have = 0
        if have and have == entry.size:
            return  # an earlier attempt got every byte (an empty blob is still fetched once)
        headers = {"Range": f"bytes={have}-"} if have else {}
        # A server with presigned downloads redirects to the object store; httpx drops the
        # Authorization header for the other origin, and the digest is checked here anyway.
        path = paths.blob(self.namespace, entry.digest)
        with self.http.stream("GET", path, headers=headers, follow_redirects=True) as response:
            if response.status_code >= 400:
                response.read()
                raise_for_error(response)
            if have and response.status_code != 206:
                have = 0  # the server ignored the range: start over
            hasher = hashlib.sha256() if not have else None
            with partial.open("r+b" if have else "wb") as out:
                out.seek(have)
                out.truncate()
                for block in response.iter_raw(READ_SIZE):
                    out.write(block)
                    if hasher is not None:
                        hasher.update(block)
                    if progress:
                        progress(len(block))
            if hasher is not None:
                hashers.append(hasher)


def parallel(workers: int, items: list[Any], work: Callable[[Any], T]) -> list[T]:
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(work, items))
