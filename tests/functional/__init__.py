"""Functional tests: a real ``cairn server`` process, driven through the SDK over a socket and
through the CLI as a subprocess. No mocks, no patching: what these tests see is what a user sees.

The helpers below are shared by the functional test modules.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families

T = TypeVar("T")
MiB = 1 << 20

# The routes that carry blob bytes up: a whole blob, and a chunk of an upload session.
BLOB_PUT_ROUTE = "/blobs/{digest}"
UPLOAD_PATCH_ROUTE = "/uploads/{session_id}"


def write_random(path: Path, size: int) -> Path:
    """A file of ``size`` bytes, random after a short text prefix, written in blocks so memory
    stays flat. The prefix keeps the scanner from reading the file as a format: random bytes
    that happen to start like a pickle (0x80 and a protocol number) can be flagged, and a
    flagged version is blocked from every pull."""
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = RANDOM_PREFIX[:size]
    with path.open("wb") as f:
        f.write(prefix)
        left = size - len(prefix)
        while left:
            block = min(left, 4 * MiB)
            f.write(os.urandom(block))
            left -= block
    return path


RANDOM_PREFIX = b"random weights\n"


def sha256_of(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 * MiB):
            hasher.update(block)
    return hasher.hexdigest()


def tree_digests(root: Path) -> dict[str, str]:
    """Every regular file below ``root`` by relative '/'-path, with its sha256."""
    return {
        p.relative_to(root).as_posix(): sha256_of(p) for p in sorted(root.rglob("*")) if p.is_file()
    }


def wait_for(condition: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    """Poll ``condition`` until it returns something truthy, and return that; fail after
    ``timeout`` seconds saying ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.002)


def metric_sum(url: str, metric: str, route_suffixes: Iterable[str]) -> float:
    """The sum of a per-route counter over the routes whose label ends with one of
    ``route_suffixes``, as the server's own ``/metrics`` reports it."""
    suffixes = tuple(route_suffixes)
    text = httpx.get(url + "/metrics", timeout=10).raise_for_status().text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == metric and sample.labels.get("route", "").endswith(suffixes):
                total += sample.value
    return total


def upload_bytes(url: str) -> float:
    """Blob bytes the server has received so far (whole PUTs and upload-session PATCHes)."""
    return metric_sum(url, "cairn_http_request_bytes_total", (BLOB_PUT_ROUTE, UPLOAD_PATCH_ROUTE))


def download_bytes(url: str) -> float:
    """Blob bytes the server has sent so far."""
    return metric_sum(url, "cairn_http_response_bytes_total", (BLOB_PUT_ROUTE,))


def blob_file(data_dir: Path, digest: str) -> Path:
    """Where the embedded default's local blob store keeps a committed blob (layout 1)."""
    hexdigest = digest.removeprefix("sha256:")
    return data_dir / "blobs" / "blobs" / "sha256" / hexdigest[:2] / hexdigest


def flip_byte(path: Path, offset: int) -> None:
    """Corrupt a stored blob in place, as a failing disk would (blobs are read-only)."""
    path.chmod(0o644)
    with path.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))
    path.chmod(0o444)


@contextmanager
def read_only_db(data_dir: Path) -> Iterator[sqlite3.Connection]:
    """The embedded server's SQLite database, opened read-only beside the running server."""
    conn = sqlite3.connect(f"file:{data_dir / 'cairn.db'}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


def run_cli(
    url: str,
    *args: str,
    cache_dir: Path | None = None,
    timeout: float = 120,
    token: str | None = None,
    data_dir: Path | None = None,
    process: bool = False,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``cairn ARGS`` against the server at ``url``: with ``token``, or else as a user on the
    server's machine (the CLI finds the admin token in the data folder, ``data_dir`` or the
    test's). Its arguments, environment, output and exit code are the command's own; it runs
    in this process (click's runner), which spares each call the second of a new Python
    importing Cairn, unless ``process`` asks for the installed command in a process of its own
    (as the tests of the entry point itself do). Commands run side by side from threads get a
    process each: click's runner swaps this process's stdout, so it runs one at a time.
    ``stdin`` is what the command reads from its standard input; ``env`` adds variables."""
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env["CAIRN_URL"] = url
    if data_dir is not None:
        env["CAIRN_DATA_DIR"] = str(data_dir)
    elif "CAIRN_DATA_DIR" in os.environ:
        env["CAIRN_DATA_DIR"] = os.environ["CAIRN_DATA_DIR"]
    if token is not None:
        env["CAIRN_TOKEN"] = token
    if cache_dir is not None:
        env["CAIRN_CACHE_DIR"] = str(cache_dir)
    env.update(extra)
    if process or threading.current_thread() is not threading.main_thread():
        return subprocess.run(
            [sys.executable, "-m", "cairn", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            input=stdin,
        )
    return _in_process(list(args), env, stdin)


def _in_process(
    args: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The command run by click's test runner, with exactly ``env`` as its environment."""
    from click.testing import CliRunner

    from cairn.cli.main import cli

    changes: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    changes.update(env)
    result = CliRunner().invoke(cli, args, input=stdin, env=changes, prog_name="cairn")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # What Python prints for an exception nobody caught, as a process would have.
        trace = "".join(traceback.format_exception(result.exception))
        stderr += trace
    return subprocess.CompletedProcess(["cairn", *args], result.exit_code, result.stdout, stderr)


def error_code(response: httpx.Response) -> str:
    """The code of the one error body, ``{"error": {"code", "message", "details"}}``."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["details"], dict), error
    return str(error["code"])


def without_mlflow_variables() -> dict[str, str]:
    """The test's environment without MLflow's and Cairn's settings; MLflow sends no usage
    telemetry (a test reaches no outside host)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CAIRN_"))}
    return env | {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def run_mlflow_script(script: Path, url: str, token: str, *args: str, cwd: Path) -> dict[str, Any]:
    """``python SCRIPT ARGS`` in a process of its own (MLflow's client keeps global state),
    its MLflow client pointed at ``url`` with ``token``; what it printed after ``REPORT ``.
    A 5xx fails the script instead of being retried."""
    env = without_mlflow_variables() | {
        "MLFLOW_TRACKING_URI": url,
        "MLFLOW_TRACKING_TOKEN": token,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    }
    done = subprocess.run(
        [sys.executable, str(script), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("REPORT "))
    report: dict[str, Any] = json.loads(line.removeprefix("REPORT "))
    return report
