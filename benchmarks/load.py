"""A mixed load against several Cairn server processes on PostgreSQL, that stops by itself;
with ``--compare-mlflow``, the same load against MLflow right after, and both side by side.

One command: ``.venv/bin/python -m benchmarks.load [--seconds 60] [--clients 8] [--workers 2]
[--s3 | --blob-url s3://…] [--compare-mlflow]``. It creates a PostgreSQL database of its own
(``CAIRN_BENCH_PG``, default the local server), starts ``cairn server --workers N`` on it,
registers a webhook receiver, and runs client threads doing a mix of what teams do —
registrations, pushes of small and medium files, pulls, reads, searches, alias moves and
promotions — for the given time. Then it prints throughput and latency per operation and checks
the invariants: version numbers gapless and unique per model, no version without its blobs,
every event delivered to the webhook, and the audit log verified end to end. The MLflow side is
``benchmarks/load_mlflow.py``; the mix and the tables are ``benchmarks/load_common.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
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

from sqlalchemy import create_engine, text

from benchmarks import load_mlflow, mlflow_venv
from benchmarks.load_common import (
    MEDIUM_BYTES,
    MODELS,
    Mix,
    Recorder,
    free_port,
    load_average,
    print_side_by_side,
    print_table,
    scratch_database,
    wait_ready,
)
from cairn import Client, errors
from tests.contract.s3_server import S3Server, start_s3_server


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
        self.recorder = Recorder()
        self.medium = folder / "medium"
        self.medium.mkdir()
        (self.medium / "weights.bin").write_bytes(os.urandom(MEDIUM_BYTES))

    def client(self, index: int, until: float) -> None:
        rng, mix = random.Random(index), Mix()
        model = f"default/load-{index % MODELS}"
        with Client(
            self.url, token=self.token, progress=False, cache_dir=self.folder / f"cache-{index}"
        ) as cairn:
            while time.monotonic() < until:
                op = mix.pick(rng)
                self.recorder.timed(op, self._operation(op, cairn, model, index, rng))

    def _operation(
        self, op: str, cairn: Client, model: str, index: int, rng: random.Random
    ) -> Callable[[], object]:
        if op == "push small":
            small = self.folder / f"small-{index}-{uuid.uuid4().hex[:8]}"
            small.mkdir()
            (small / "config.json").write_text(f'{{"seed": {rng.random()}}}\n')
            auc = rng.random()
            return lambda: cairn.push(model, small, metrics={"auc": auc}, capture_provenance=False)
        if op == "push 8 MiB":
            return lambda: cairn.push(model, self.medium, capture_provenance=False)
        if op == "pull":
            dest = self.folder / f"pull-{index}-{uuid.uuid4().hex[:8]}"
            return lambda: cairn.pull(f"{model}:latest", dest)
        if op == "get @candidate":
            return lambda: cairn.get(f"{model}@candidate")
        if op == "get latest":
            return lambda: cairn.get(f"{model}:latest")
        if op == "search":
            name = model.split("/")[1]
            return lambda: list(
                cairn.search(f"name = '{name}' AND metrics.auc > 0.5", page_size=50)
            )
        if op == "promote staging":
            return lambda: self._promote(cairn, model)
        if op == "alias move":
            return lambda: self._alias(cairn, model, rng)
        raise ValueError(op)

    @staticmethod
    def _promote(cairn: Client, model: str) -> None:
        latest = cairn.get(f"{model}:latest", files=False)
        if latest.state == "registered":
            # Another client may promote it first: the policy then refuses staging → staging.
            with contextlib.suppress(errors.PolicyViolation):
                cairn.promote(latest.ref, "staging")

    @staticmethod
    def _alias(cairn: Client, model: str, rng: random.Random) -> None:
        latest = cairn.get(f"{model}:latest", files=False).number
        cairn.set_alias(model, "candidate", rng.randint(1, latest))


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
    parser.add_argument("--seconds", type=float, default=60, help="per system")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="server processes, both systems")
    parser.add_argument("--blob-url", default=None, help="e.g. s3://bucket/prefix")
    parser.add_argument(
        "--s3", action="store_true", help="blobs in S3: a moto server on loopback, started here"
    )
    parser.add_argument(
        "--compare-mlflow", action="store_true", help="then the same load against MLflow"
    )
    load_mlflow.add_arguments(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cairn-load-") as scratch:
        folder = Path(scratch)
        s3 = start_s3_server(folder) if args.s3 else None
        try:
            ok = compare(folder, s3, args)
        finally:
            if s3:
                s3.stop()
    print("\nALL INVARIANTS HOLD" if ok else "\nINVARIANTS BROKEN")
    if not ok:
        raise SystemExit(1)


def compare(folder: Path, s3: S3Server | None, args: argparse.Namespace) -> bool:
    """Cairn's run, then (with ``--compare-mlflow``) MLflow's, each on a fresh database."""
    (folder / "cairn").mkdir()
    with scratch_database("cairn_load") as database:
        recorder, seconds, ok = run(folder / "cairn", database, s3, args)
    if not args.compare_mlflow:
        return ok
    (folder / "mlflow").mkdir()
    theirs, their_seconds, their_ok = load_mlflow.run(folder / "mlflow", s3, args)
    print(
        f"\nCairn vs MLflow {mlflow_venv.MLFLOW_VERSION} ({args.mlflow_variant}), same run: "
        f"{args.clients} clients, {args.workers} server processes each, PostgreSQL, "
        f"blobs/artifacts in {'S3 (moto)' if s3 else 'a local folder'}, "
        f"{seconds:.0f} s + {their_seconds:.0f} s"
    )
    print_side_by_side(recorder, seconds, theirs, their_seconds)
    return ok and their_ok


def run(
    folder: Path, database: str, s3: S3Server | None, args: argparse.Namespace
) -> tuple[Recorder, float, bool]:
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
    if s3:
        env.update(s3.env("load"))
    elif args.blob_url:
        env["CAIRN_BLOB_URL"] = args.blob_url
    command = [sys.executable, "-m", "cairn", "server", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", str(args.workers)], env=env, stdout=subprocess.DEVNULL
    )
    try:
        wait_ready(url + "/readyz", lambda: server.poll() is None)
        token = (folder / "data" / "admin-token").read_text().strip()
        receiver = Receiver()
        with Client(url, token=token, progress=False) as cairn:
            cairn.add_webhook("*", receiver.url)
            seed = folder / "seed"
            seed.mkdir()
            (seed / "config.json").write_text("{}\n")
            for index in range(MODELS):  # every model and alias exists before the clients read it
                cairn.push(f"default/load-{index}", seed, capture_provenance=False)
                cairn.set_alias(f"default/load-{index}", "candidate", 1)
        load = Load(url, token, folder)
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=load.client, args=(i, until)) for i in range(args.clients)
        ]
        started, load_before = time.monotonic(), load_average()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        blobs = env.get("CAIRN_BLOB_URL", "local folder")
        print(
            f"Cairn: {args.clients} clients, {args.workers} server processes on PostgreSQL, "
            f"blobs {blobs}, {elapsed:.0f} s, load average {load_before} → {load_average()}"
        )
        print_table(load.recorder, elapsed)
        print("\nCairn's invariants")
        ok = check(url, token, database, receiver, folder / "trust.json")
        return load.recorder, elapsed, ok
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
