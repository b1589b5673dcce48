"""What both sides of the load test share: the operation mix, the recorder the client threads
time their calls with, a scratch PostgreSQL database, and the report tables (one system alone,
or Cairn and MLflow side by side)."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG = os.environ.get("CAIRN_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MiB = 1 << 20
MEDIUM_BYTES = 8 * MiB
MODELS = 4  # clients share these models, so registrations race on the same version numbers

# What a client does next, drawn at random: (probability, operation). Both sides draw from the
# same table; the operations MLflow has no equivalent for are left out of its draw, so the
# comparable operations keep the same proportions to one another on both sides.
MIX: tuple[tuple[float, str], ...] = (
    (0.35, "push small"),
    (0.05, "push 8 MiB"),
    (0.10, "pull"),
    (0.10, "get @candidate"),
    (0.10, "get latest"),
    (0.15, "search"),
    (0.10, "promote staging"),
    (0.05, "alias move"),
)
CAIRN_ONLY = ("promote staging",)


class Mix:
    """Draws operations in the proportions of ``MIX``, without the ones in ``leave_out``."""

    def __init__(self, leave_out: Sequence[str] = ()) -> None:
        kept = [(weight, op) for weight, op in MIX if op not in leave_out]
        total = sum(weight for weight, _ in kept)
        self.ops = [op for _, op in kept]
        self.bounds: list[float] = []
        running = 0.0
        for weight, _ in kept:
            running += weight / total
            self.bounds.append(running)

    def pick(self, rng: random.Random) -> str:
        roll = rng.random()
        for bound, op in zip(self.bounds, self.ops, strict=True):
            if roll < bound:
                return op
        return self.ops[-1]  # rounding left the last bound a hair under 1


@dataclass(frozen=True)
class OpStats:
    ops: int
    ops_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int


def quantile_ms(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of sorted durations in seconds, in milliseconds."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


class Recorder:
    """Durations of the calls that succeeded and messages of the ones that failed, per
    operation, from many client threads. Every failure is counted, never hidden."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.lock = threading.Lock()

    def timed(self, op: str, call: Callable[[], object]) -> None:
        started = time.perf_counter()
        try:
            call()
        except Exception as exc:
            with self.lock:
                self.errors[op].append(f"{type(exc).__name__}: {exc}"[:200])
            return
        with self.lock:
            self.samples[op].append(time.perf_counter() - started)

    def operations(self) -> list[str]:
        return sorted(set(self.samples) | set(self.errors))

    def stats(self, op: str, seconds: float) -> OpStats | None:
        values = sorted(self.samples.get(op, []))
        failed = len(self.errors.get(op, []))
        if not values:
            return OpStats(0, 0.0, 0.0, 0.0, 0.0, failed) if failed else None
        return OpStats(
            len(values),
            len(values) / seconds,
            quantile_ms(values, 0.50),
            quantile_ms(values, 0.95),
            quantile_ms(values, 0.99),
            failed,
        )

    def error_count(self) -> int:
        return sum(len(found) for found in self.errors.values())


def print_table(recorder: Recorder, seconds: float) -> None:
    print(
        f"\n{'operation':18} {'ops':>6} {'ops/s':>8} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} "
        "errors"
    )
    for op in recorder.operations():
        s = recorder.stats(op, seconds)
        assert s is not None
        print(
            f"{op:18} {s.ops:6d} {s.ops_per_s:8.1f} {s.p50_ms:9.2f} {s.p95_ms:9.2f} "
            f"{s.p99_ms:9.2f} {s.errors}"
        )
    print_errors(recorder)


def print_errors(recorder: Recorder, label: str = "") -> None:
    for op, found in sorted(recorder.errors.items()):
        print(f"  {label}{op}: {len(found)} errors, e.g. {found[0]}")


def side_by_side_rows(
    cairn: Recorder, cairn_s: float, mlflow: Recorder, mlflow_s: float
) -> list[tuple[str, OpStats | None, OpStats | None, float | None]]:
    """Per operation (the mix's order): Cairn's figures, MLflow's (None for a Cairn-only
    operation), and Cairn's throughput over MLflow's (None when there is nothing to divide)."""
    rows = []
    for _, op in MIX:
        ours, theirs = cairn.stats(op, cairn_s), mlflow.stats(op, mlflow_s)
        if ours is None and theirs is None:
            continue
        ratio = None
        if ours and theirs and theirs.ops_per_s > 0 and op not in CAIRN_ONLY:
            ratio = ours.ops_per_s / theirs.ops_per_s
        rows.append((op, ours, None if op in CAIRN_ONLY else theirs, ratio))
    return rows


def compared_rate(recorder: Recorder, seconds: float) -> float:
    """Operations per second over every operation both systems have."""
    done = sum(len(v) for op, v in recorder.samples.items() if op not in CAIRN_ONLY)
    return done / seconds


def print_side_by_side(cairn: Recorder, cairn_s: float, mlflow: Recorder, mlflow_s: float) -> None:
    def cells(s: OpStats | None) -> str:
        if s is None:
            return f"{'—':>8} {'—':>8} {'—':>8} {'—':>8} {'—':>4}"
        return f"{s.ops_per_s:8.1f} {s.p50_ms:8.1f} {s.p95_ms:8.1f} {s.p99_ms:8.1f} {s.errors:4d}"

    head = f"{'ops/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'err':>4}"
    print(f"\n{'':16} | {'Cairn':^44} | {'MLflow':^44} |")
    print(f"{'operation':16} | {head} | {head} | Cairn/MLflow ops/s")
    for op, ours, theirs, ratio in side_by_side_rows(cairn, cairn_s, mlflow, mlflow_s):
        if op in CAIRN_ONLY:
            shown = "Cairn-only"
        else:
            shown = f"{ratio:.2f}x" if ratio is not None else "n/a"
        print(f"{op:16} | {cells(ours)} | {cells(theirs)} | {shown}")
    ours_total, theirs_total = compared_rate(cairn, cairn_s), compared_rate(mlflow, mlflow_s)
    overall = f"{ours_total / theirs_total:.2f}x" if theirs_total else "n/a"
    print(
        f"{'compared, total':16} | {ours_total:8.1f}{'':31} {cairn.error_count():4d} | "
        f"{theirs_total:8.1f}{'':31} {mlflow.error_count():4d} | {overall}"
    )
    print(
        "Cairn-only, not compared: promotions (row above) and webhook delivery (Cairn's "
        "invariants above)."
    )
    print_errors(cairn, "Cairn ")
    print_errors(mlflow, "MLflow ")


def load_average() -> str:
    """The machine's 1-minute load average: 2 cores run the clients and the servers, so
    anything else running skews both sides (printed before and after each side's run)."""
    return f"{os.getloadavg()[0]:.1f}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database on ``CAIRN_BENCH_PG``'s server, dropped afterwards; yields its
    SQLAlchemy URL (psycopg 3 driver)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def wait_ready(url: str, process_alive: Callable[[], bool], seconds: float = 120) -> None:
    """Poll ``url`` until it answers 200; fail if the server process exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not process_alive():
            raise RuntimeError(f"the server behind {url} exited while starting")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")
