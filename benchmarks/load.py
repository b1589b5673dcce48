"""A mixed load against several Cairn server processes on PostgreSQL, that stops by itself.

One command: ``.venv/bin/python -m benchmarks.load [--seconds 60] [--clients 8] [--workers 2]
[--blob-url s3://…]``. It creates a PostgreSQL database of its own (``CAIRN_BENCH_PG``, default
the local server), starts ``cairn server --workers N`` on it, registers a webhook receiver, and
runs client threads doing a mix of what teams do — registrations, pushes of small and medium
files, reads, searches, alias moves and promotions — for the given time. Then it prints
throughput and latency per operation and checks the invariants: version numbers gapless and
unique per model, no version without its blobs, every event delivered to the webhook, and the
audit log verified end to end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cairn import Client, errors
from tests.contract.s3_server import start_s3_server

PG = os.environ.get("CAIRN_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MiB = 1 << 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    def __init__(self) -> None:
        self.ids: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                receiver.ids.add(self.headers["webhook-id"])
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Load:
    def __init__(self, url: str, token: str, folder: Path) -> None:
        self.url, self.token, self.folder = url, token, folder
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.lock = threading.Lock()
        self.medium = folder / "medium"
        self.medium.mkdir()
        (self.medium / "weights.bin").write_bytes(os.urandom(8 * MiB))

    def timed(self, op: str, call: Callable[[], object]) -> None:
        started = time.perf_counter()
        try:
            call()
        except Exception as exc:  # every failure is counted and reported, never hidden
            with self.lock:
                self.errors[op].append(f"{type(exc).__name__}: {exc}"[:200])
            return
        with self.lock:
            self.samples[op].append(time.perf_counter() - started)

    def client(self, index: int, until: float) -> None:
        rng = random.Random(index)
        model = f"default/load-{index % 4}"
        with Client(
            self.url, token=self.token, progress=False, cache_dir=self.folder / f"cache-{index}"
        ) as cairn:
            while time.monotonic() < until:
                roll = rng.random()
                if roll < 0.35:
                    small = self.folder / f"small-{index}-{uuid.uuid4().hex[:8]}"
                    small.mkdir()
                    (small / "config.json").write_text(f'{{"seed": {rng.random()}}}\n')
                    auc = rng.random()
                    self.timed(
                        "push small",
                        lambda small=small, auc=auc: cairn.push(
                            model, small, metrics={"auc": auc}, capture_provenance=False
                        ),
                    )
                elif roll < 0.40:
                    self.timed(
                        "push 8 MiB",
                        lambda: cairn.push(model, self.medium, capture_provenance=False),
                    )
                elif roll < 0.50:
                    dest = self.folder / f"pull-{index}-{uuid.uuid4().hex[:8]}"
                    self.timed("pull", lambda dest=dest: cairn.pull(f"{model}:latest", dest))
                elif roll < 0.60:
                    self.timed("get @candidate", lambda: cairn.get(f"{model}@candidate"))
                elif roll < 0.70:
                    self.timed("get latest", lambda: cairn.get(f"{model}:latest"))
                elif roll < 0.85:
                    self.timed(
                        "search",
                        lambda: list(
                            cairn.search(
                                f"name = '{model.split('/')[1]}' AND metrics.auc > 0.5",
                                page_size=50,
                            )
                        ),
                    )
                elif roll < 0.95:
                    self.timed("promote staging", lambda: self._promote(cairn, model))
                else:
                    self.timed("alias move", lambda: self._alias(cairn, model, rng))

    @staticmethod
    def _promote(cairn: Client, model: str) -> None:
        latest = cairn.get(f"{model}:latest", files=False)
        if latest["state"] == "registered":
            # Another client may promote it first: the policy then refuses staging → staging.
            with contextlib.suppress(errors.PolicyViolation):
                cairn.promote(latest["ref"], "staging")

    @staticmethod
    def _alias(cairn: Client, model: str, rng: random.Random) -> None:
        latest = cairn.get(f"{model}:latest", files=False)["number"]
        cairn.set_alias(model, "candidate", rng.randint(1, latest))


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def report(load: Load, seconds: float) -> None:
    print(
        f"\n{'operation':18} {'ops':>6} {'ops/s':>8} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} "
        "errors"
    )
    for op, values in sorted(load.samples.items()):
        ordered = sorted(values)
        print(
            f"{op:18} {len(values):6d} {len(values) / seconds:8.1f} "
            f"{statistics.median(values) * 1000:9.2f} {_quantile(ordered, 0.95):9.2f} "
            f"{_quantile(ordered, 0.99):9.2f} "
            f"{len(load.errors.get(op, []))}"
        )
    for op, found in load.errors.items():
        print(f"  {op}: {len(found)} errors, e.g. {found[0]}")


def check(url: str, token: str, database: str, receiver: Receiver, state: Path) -> bool:
    ok = True
    engine = create_engine(database)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT m.name, v.number FROM versions v JOIN models m ON m.id = v.model_id "
                "ORDER BY m.name, v.number"
            )
        ).all()
        dangling = conn.execute(
            text(
                "SELECT count(*) FROM version_files f LEFT JOIN blobs b ON b.digest = f.digest "
                "WHERE b.digest IS NULL"
            )
        ).scalar()
        # The events since the subscription (the first-start ones came before it).
        events = conn.execute(
            text(
                "SELECT count(*) FROM events WHERE id >= "
                "(SELECT min(id) FROM events WHERE type = 'webhook.add')"
            )
        ).scalar()
    engine.dispose()
    numbers: dict[str, list[int]] = defaultdict(list)
    for name, number in rows:
        numbers[name].append(number)
    for name, found in numbers.items():
        gapless = found == list(range(1, len(found) + 1))
        ok &= gapless
        print(f"  {name}: {len(found)} versions, numbers gapless and unique: {gapless}")
    print(f"  versions naming a missing blob: {dangling}")
    ok &= dangling == 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(receiver.ids) < (events or 0):
        time.sleep(0.5)
    print(f"  events: {events}, delivered to the webhook: {len(receiver.ids)}")
    ok &= len(receiver.ids) == events
    with Client(url, token=token, progress=False) as cairn:
        verified = cairn.verify_audit(state)
    print(f"  audit log: {verified.size} entries, verified: {verified.ok} {verified.problems}")
    return ok and verified.ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--blob-url", default=None, help="e.g. s3://bucket/prefix")
    parser.add_argument(
        "--s3", action="store_true", help="blobs in S3: a moto server on loopback, started here"
    )
    args = parser.parse_args()
    name = f"cairn_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = make_url(PG).set(database=name).render_as_string(hide_password=False)
    receiver = Receiver()
    try:
        with tempfile.TemporaryDirectory(prefix="cairn-load-") as scratch:
            if args.s3:
                s3 = start_s3_server(Path(scratch))
                os.environ.update(s3.env("load"))
                args.blob_url = os.environ["CAIRN_BLOB_URL"]
            try:
                run(Path(scratch), database, receiver, args)
            finally:
                if args.s3:
                    s3.stop()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(folder: Path, database: str, receiver: Receiver, args: argparse.Namespace) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # The S3 settings (CAIRN_S3_*) pass through, for --blob-url s3://…
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CAIRN_") or k.startswith("CAIRN_S3_")
    }
    env.update(
        {
            "CAIRN_DATA_DIR": str(folder / "data"),
            "CAIRN_DATABASE_URL": database,
            "CAIRN_LOG_LEVEL": "warning",
            "CAIRN_WEBHOOK_ALLOW": "127.0.0.1/32",
        }
    )
    if args.blob_url:
        env["CAIRN_BLOB_URL"] = args.blob_url
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cairn",
            "server",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        token = (folder / "data" / "admin-token").read_text().strip()
        with Client(url, token=token, progress=False) as cairn:
            cairn.add_webhook("*", receiver.url)
            seed = folder / "seed"
            seed.mkdir()
            (seed / "config.json").write_text("{}\n")
            for index in range(4):  # every model and alias exists before the clients read it
                cairn.push(f"default/load-{index}", seed, capture_provenance=False)
                cairn.set_alias(f"default/load-{index}", "candidate", 1)
        load = Load(url, token, folder)
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=load.client, args=(i, until)) for i in range(args.clients)
        ]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        print(
            f"{args.clients} clients, {args.workers} server processes on PostgreSQL, "
            f"blobs {args.blob_url or 'local folder'}, {elapsed:.0f} s"
        )
        report(load, elapsed)
        print("\ninvariants")
        ok = check(url, token, database, receiver, folder / "trust.json")
        print("\nALL INVARIANTS HOLD" if ok else "\nINVARIANTS BROKEN")
        if not ok:
            raise SystemExit(1)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
