"""The load test's MLflow side: Cairn's mixed load (``benchmarks/load.py``) against
``mlflow server --workers N`` on PostgreSQL, with its artifacts served by the server — the same
operation mix, client count, duration and file sizes, through MLflow's REST API.

Normally it runs right after Cairn's side, in one command:
``.venv/bin/python -m benchmarks.load --compare-mlflow [--s3]``. On its own:
``.venv/bin/python -m benchmarks.load_mlflow [--seconds 60] [--clients 8] [--workers 2] [--s3]``.

MLflow runs from its own venv (``/tmp/mlbench/venv``, made as ``benchmarks/run.py`` makes it,
plus ``psycopg2-binary`` for PostgreSQL and ``boto3`` for S3), on a fresh database, with the
shared harness's ``nodelay`` patch unless ``--mlflow-variant default``. Each operation, as the
shared harness's ``MlflowAdapter`` (``/work/shared/bench/adapters.py``) makes the calls:

- push small: ``PUT`` ``config.json`` into a new folder of the client's run (MLflow takes an
  ``mlflow-artifacts:`` source only inside the run it names), then ``model-versions/create``
  with that ``run_id``, ``source`` ``mlflow-artifacts:/<folder>`` and tags ``auc``, ``auc_band``;
- push 8 MiB: ``PUT`` the 8 MiB file (every time: MLflow stores each upload), then create;
- pull: the latest version, its artifacts listed, each file fetched into a folder, sizes checked;
- get @candidate: ``registered-models/alias``; get latest: ``model-versions/search`` by name,
  ``version_number DESC``, one result (cheaper than the ``get-latest-versions`` call MLflow's
  ``models:/<name>/latest`` makes, which loads every version of the model);
- search: ``name='load-i' and tags.auc_band='high'`` (MLflow compares tags as strings; Cairn
  searches ``metrics.auc > 0.5``, the same versions), 50 per page, every page;
- alias move: the latest version, then ``registered-models/alias`` to a random earlier one.

Promotions have no MLflow equivalent (stages are deprecated): MLflow's clients draw from the
rest of the mix, in the same proportions to one another.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks import mlflow_venv
from benchmarks.load_common import (
    CAIRN_ONLY,
    MEDIUM_BYTES,
    MODELS,
    MiB,
    Mix,
    Recorder,
    free_port,
    load_average,
    print_table,
    scratch_database,
    wait_ready,
)
from benchmarks.mlflow_venv import MLFLOW_VERSION
from tests.contract.s3_server import KEY_ID, REGION, SECRET, S3Server, start_s3_server

# The harness, the MLflow version and its venv, as benchmarks/run.py has them.
HARNESS = Path(os.environ.get("CAIRN_BENCH_HARNESS", "/work/shared/bench"))
MLFLOW_VENV = mlflow_venv.DEFAULT
DRIVERS = ["psycopg2-binary", "boto3"]  # MLflow on PostgreSQL; artifacts in S3
if str(HARNESS) not in sys.path:
    sys.path.append(str(HARNESS))

from adapters import AdapterError, MlflowAdapter  # noqa: E402

PREFIX = "mlflow-load"  # MLflow's artifacts under the S3 bucket or the scratch folder


@dataclass(frozen=True)
class Run:
    """A client's MLflow run: the versions it pushes are made from files in its artifacts."""

    id: str
    folder: str  # its artifact folder, as a path under the server's artifact root


class LoadAdapter(MlflowAdapter):
    """The shared adapter, plus the calls the harness does not make: the latest version, an
    artifact folder's listing (both for a pull) and a run (to push from)."""

    def latest_version(self, name: str) -> dict[str, Any]:
        found = self._get(
            "/model-versions/search",
            {"filter": f"name='{name}'", "order_by": "version_number DESC", "max_results": "1"},
        ).get("model_versions", [])
        if not found:
            raise AdapterError(f"{name} has no versions")
        return dict(found[0])

    def list_artifacts(self, path: str) -> list[dict[str, Any]]:
        response = self.client.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": path})
        return list(self._check(response).get("files", []))

    def create_run(self) -> Run:
        info = self._post("/runs/create", {"experiment_id": "0"})["run"]["info"]
        return Run(info["run_id"], artifact_folder(info["artifact_uri"]))


def chunks_of(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(MiB):
            yield chunk


class Load:
    def __init__(self, url: str, folder: Path, runs: list[Run]) -> None:
        self.url, self.folder, self.runs = url, folder, runs
        self.recorder = Recorder()
        self.medium = folder / "weights.bin"
        self.medium.write_bytes(os.urandom(MEDIUM_BYTES))

    def client(self, index: int, until: float) -> None:
        rng, mix = random.Random(index), Mix(leave_out=CAIRN_ONLY)
        mlflow = LoadAdapter(self.url)
        try:
            while time.monotonic() < until:
                op = mix.pick(rng)
                self.recorder.timed(op, lambda op=op: self.operation(op, mlflow, index, rng))
        finally:
            mlflow.close()

    def operation(self, op: str, mlflow: LoadAdapter, index: int, rng: random.Random) -> None:
        model = f"load-{index % MODELS}"
        if op == "push small":
            auc = rng.random()
            config = f'{{"seed": {rng.random()}}}\n'.encode()
            band = "high" if auc > 0.5 else "low"
            run, body = self.runs[index], iter([config])
            push(mlflow, run, model, "config.json", body, len(config), auc=auc, auc_band=band)
        elif op == "push 8 MiB":
            run, body = self.runs[index], chunks_of(self.medium)
            push(mlflow, run, model, "weights.bin", body, MEDIUM_BYTES)
        elif op == "pull":
            self.pull(mlflow, model, self.folder / f"pull-{uuid.uuid4().hex[:8]}")
        elif op == "get @candidate":
            mlflow.get_version_by_alias(model, "candidate")
        elif op == "get latest":
            mlflow.latest_version(model)
        elif op == "search":
            token = None
            while True:
                _, token = mlflow.search_versions(
                    name=model, tags={"auc_band": "high"}, max_results=50, page_token=token
                )
                if not token:
                    break
        elif op == "alias move":
            latest = int(mlflow.latest_version(model)["version"])
            mlflow.set_alias(model, "candidate", rng.randint(1, latest))
        else:
            raise ValueError(op)

    @staticmethod
    def pull(mlflow: LoadAdapter, model: str, dest: Path) -> None:
        folder = artifact_folder(mlflow.latest_version(model)["source"])
        dest.mkdir()
        entries = mlflow.list_artifacts(folder)
        if not entries:
            raise AdapterError(f"{folder}: the version's artifact folder is empty")
        for entry in entries:
            target = dest / entry["path"]
            with target.open("wb") as out:
                for chunk in mlflow.download_artifact(f"{folder}/{entry['path']}"):
                    out.write(chunk)
            if target.stat().st_size != int(entry["file_size"]):
                raise AdapterError(f"{folder}/{entry['path']}: short download")


def push(
    mlflow: LoadAdapter,
    run: Run,
    model: str,
    name: str,
    body: Iterator[bytes],
    size: int,
    **tags: Any,
) -> int:
    """One new version: its file uploaded into a new folder of the client's run (MLflow takes
    an ``mlflow-artifacts:`` source only inside the artifacts of the run it names), then the
    version made from it."""
    folder = f"{run.folder}/{uuid.uuid4().hex}"
    mlflow.upload_artifact(f"{folder}/{name}", body, size)
    request: dict[str, Any] = {
        "name": model,
        "source": f"mlflow-artifacts:/{folder}",
        "run_id": run.id,
        "tags": [{"key": k, "value": str(v)} for k, v in tags.items()],
    }
    return int(mlflow._post("/model-versions/create", request)["model_version"]["version"])


def artifact_folder(source: str) -> str:
    return source.removeprefix("mlflow-artifacts:").lstrip("/")


def ensure_venv(venv: Path) -> Path:
    """MLflow's venv (as ``benchmarks/run.py`` makes it) with the drivers this test needs."""
    mlflow_venv.ensure(venv, DRIVERS, imports=["psycopg2", "boto3"])
    return venv / "bin" / "mlflow"


def start_server(
    folder: Path, database: str, s3: S3Server | None, args: argparse.Namespace, port: int
) -> subprocess.Popen[bytes]:
    mlflow = ensure_venv(Path(args.mlflow_venv))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))}
    if args.mlflow_variant == "nodelay":
        env["PYTHONPATH"] = str(HARNESS / "nodelay_patch")
    if s3:
        destination = f"s3://{s3.bucket}/{PREFIX}"
        env.update(
            MLFLOW_S3_ENDPOINT_URL=s3.endpoint,
            AWS_ACCESS_KEY_ID=KEY_ID,
            AWS_SECRET_ACCESS_KEY=SECRET,
            AWS_DEFAULT_REGION=REGION,
        )
    else:
        destination = str(folder / PREFIX)
    # psycopg2 in MLflow's venv, named: SQLAlchemy 2.1 makes postgresql:// mean psycopg 3.
    backend = make_url(database).set(drivername="postgresql+psycopg2")
    command = [
        str(mlflow),
        "server",
        "--backend-store-uri",
        backend.render_as_string(hide_password=False),
        "--serve-artifacts",
        "--artifacts-destination",
        destination,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
    ]
    with (folder / "mlflow.log").open("ab") as log:
        # A session of its own, so that stop() reaches the workers through the group's id.
        return subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_server(server: subprocess.Popen[bytes]) -> None:
    with_signal = [signal.SIGTERM, signal.SIGKILL]
    for sig in with_signal:
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=30)
            return
        except subprocess.TimeoutExpired:
            continue


def run(
    folder: Path, s3: S3Server | None, args: argparse.Namespace
) -> tuple[Recorder, float, bool]:
    """MLflow's side on a fresh database: seed, load, then the invariants."""
    with scratch_database("mlflow_load") as database:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(folder, database, s3, args, port)
        try:
            try:
                wait_ready(url + "/health", lambda: server.poll() is None, seconds=300)
            except RuntimeError:
                print((folder / "mlflow.log").read_text()[-3000:])
                raise
            time.sleep(5)  # let every worker finish importing, as the shared harness does
            load = Load(url, folder, seed(url, args.clients))
            until = time.monotonic() + args.seconds
            threads = [
                threading.Thread(target=load.client, args=(i, until)) for i in range(args.clients)
            ]
            started, load_before = time.monotonic(), load_average()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed, load_after = time.monotonic() - started, load_average()
        finally:
            stop_server(server)
        where = f"s3://{s3.bucket}/{PREFIX} (moto)" if s3 else "a local folder"
        print(
            f"\nMLflow {MLFLOW_VERSION} ({args.mlflow_variant}): {args.clients} clients, "
            f"{args.workers} server processes on PostgreSQL, artifacts in {where}, "
            f"{elapsed:.0f} s, load average {load_before} → {load_after}"
        )
        print_table(load.recorder, elapsed)
        print("\nMLflow's invariants")
        return load.recorder, elapsed, check(database, artifact_folders(folder, s3))


def seed(url: str, clients: int) -> list[Run]:
    """Every model, a first version and its alias exist before the clients read them; each
    client gets a run of its own to push from."""
    mlflow = LoadAdapter(url)
    try:
        runs = [mlflow.create_run() for _ in range(clients)]
        for index in range(MODELS):
            mlflow.create_model(f"load-{index}")
            push(mlflow, runs[0], f"load-{index}", "config.json", iter([b"{}\n"]), 3)
            mlflow.set_alias(f"load-{index}", "candidate", 1)
        return runs
    finally:
        mlflow.close()


def artifact_folders(folder: Path, s3: S3Server | None) -> set[str]:
    """The artifact folders holding at least one file, as a version's source names them."""
    if s3:
        keys = s3.keys(PREFIX + "/")
    else:
        root = folder / PREFIX
        keys = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    return {key.rpartition("/")[0] for key in keys}


def check(database: str, stored: set[str]) -> bool:
    engine = create_engine(database)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, version, source FROM model_versions ORDER BY name, version")
        ).all()
    engine.dispose()
    numbers: dict[str, list[int]] = defaultdict(list)
    for name, number, _ in rows:
        numbers[name].append(int(number))
    ok = True
    for name, found in sorted(numbers.items()):
        gapless = found == list(range(1, len(found) + 1))
        ok &= gapless
        print(f"  {name}: {len(found)} versions, numbers gapless and unique: {gapless}")
    missing = sum(1 for *_, source in rows if artifact_folder(source) not in stored)
    print(f"  versions whose artifacts are missing: {missing}")
    return ok and missing == 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mlflow-variant",
        choices=["nodelay", "default"],
        default="nodelay",
        help="nodelay: the shared harness's TCP_NODELAY patch (MLflow's own cost); default: "
        "MLflow as shipped (~40 ms Nagle wait on keep-alive calls with several workers)",
    )
    parser.add_argument("--mlflow-venv", default=str(MLFLOW_VENV))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--s3", action="store_true", help="artifacts in S3 (moto on loopback)")
    add_arguments(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlflow-load-") as scratch:
        s3 = start_s3_server(Path(scratch)) if args.s3 else None
        try:
            _, _, ok = run(Path(scratch), s3, args)
        finally:
            if s3:
                s3.stop()
    print("\nALL INVARIANTS HOLD" if ok else "\nINVARIANTS BROKEN")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
