"""The MLflow client against Cairn and against ``mlflow server``, in the same run: log a pyfunc
model carrying one ``--size-mib`` file, register it, load it back, and check the loaded file's
digest. Prints seconds per step for each server, their ratio, and each server's peak memory.

One command: ``.venv/bin/python -m benchmarks.mlflow_client [--size-mib 500]``.

Both sides use the same client (MLflow 3.17.2, the project's venv). ``mlflow server`` 3.17.2
runs from ``/tmp/mlbench/venv`` (made as ``/work/shared/bench/README.md`` says when missing),
with a SQLite backend and ``--artifacts-destination`` on local disk, as its users start it;
Cairn runs as ``cairn server`` on its embedded default (SQLite + local folder).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks import mlflow_venv

MiB = 1 << 20
STEPS = ("log", "register", "load")
MLFLOW_VENV = mlflow_venv.DEFAULT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=500)
    parser.add_argument("--client", nargs=2, metavar=("WEIGHTS", "NAME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        print(json.dumps(client(Path(args.client[0]), args.client[1])))
        return
    mlflow_venv.ensure(MLFLOW_VENV)
    with tempfile.TemporaryDirectory(prefix="cairn-mlflow-bench-") as scratch:
        root = Path(scratch)
        weights = root / "weights.bin"
        digest = write_weights(weights, args.size_mib)
        warmup = root / "warmup.bin"
        write_weights(warmup, 1)
        results = {
            "mlflow server": measure(root / "mlflow", start_mlflow, weights, digest, warmup),
            "cairn server": measure(root / "cairn", start_cairn, weights, digest, warmup),
        }
    report(results, args.size_mib)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_weights(path: Path, size_mib: int) -> str:
    hasher = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(size_mib):
            block = os.urandom(MiB)
            hasher.update(block)
            out.write(block)
    return hasher.hexdigest()


def start_cairn(root: Path, port: int) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env |= {"CAIRN_DATA_DIR": str(root / "data"), "CAIRN_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [sys.executable, "-m", "cairn", "server", "--port", str(port)],
        env=env,
        stdout=(root / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    wait_ready(f"http://127.0.0.1:{port}/readyz", process)
    token = (root / "data" / "admin-token").read_text().strip()
    return process, {"MLFLOW_TRACKING_TOKEN": token}


def start_mlflow(root: Path, port: int) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    command = [
        str(MLFLOW_VENV / "bin" / "mlflow"),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
    ]
    process = subprocess.Popen(
        command, stdout=(root / "server.log").open("wb"), stderr=subprocess.STDOUT
    )
    wait_ready(f"http://127.0.0.1:{port}/health", process, seconds=120)
    return process, {}


def wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {seconds} s")


def measure(root: Path, start: Any, weights: Path, digest: str, warmup: Path) -> dict[str, Any]:
    """Start the server, warm it (and the client's caches) with a 1 MiB model, then time."""
    root.mkdir()
    port = free_port()
    process, env = start(root, port)
    try:
        client_env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        client_env |= {"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}", **env}
        run_client(root, client_env, warmup, "warmup")
        timings = run_client(root, client_env, weights, "big")
        timings["digest_ok"] = timings.pop("digest") == digest
        timings["peak_rss_mib"] = peak_rss_mib(process.pid)
        return timings
    finally:
        process.terminate()
        process.wait(timeout=30)


def run_client(root: Path, env: dict[str, str], weights: Path, name: str) -> dict[str, Any]:
    project = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (project, env.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.mlflow_client", "--client", str(weights), name],
        env={**env, "PYTHONPATH": path},
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def peak_rss_mib(pid: int) -> float:
    """The server's peak resident memory (VmHWM of its process and of its children)."""
    peak = 0.0
    pids = [pid, *children(pid)]
    for one in pids:
        try:
            lines = Path(f"/proc/{one}/status").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
    return peak


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        listed = (task / "children").read_text().split() if (task / "children").exists() else []
        for child in map(int, listed):
            found += [child, *children(child)]
    return found


def client(weights: Path, name: str) -> dict[str, Any]:
    """The client's side, in its own process: log, register, load, with MLflow's own API."""
    import mlflow
    import mlflow.pyfunc

    class Weights(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def load_context(self, context: Any) -> None:
            self.path = context.artifacts["weights"]

        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            return model_input

    mlflow.set_experiment("bench")
    out: dict[str, Any] = {}
    with mlflow.start_run():
        started = time.perf_counter()
        info = mlflow.pyfunc.log_model(
            name="model", python_model=Weights(), artifacts={"weights": str(weights)}
        )
        out["log"] = time.perf_counter() - started
    started = time.perf_counter()
    version = mlflow.register_model(info.model_uri, name)
    out["register"] = time.perf_counter() - started
    started = time.perf_counter()
    loaded = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")
    out["load"] = time.perf_counter() - started
    hasher = hashlib.sha256()
    with Path(loaded.unwrap_python_model().path).open("rb") as f:
        while block := f.read(8 * MiB):
            hasher.update(block)
    out["digest"] = hasher.hexdigest()
    return out


def report(results: dict[str, dict[str, Any]], size_mib: int) -> None:
    mlflow, cairn = results["mlflow server"], results["cairn server"]
    print(f"\nMLflow client 3.17.2: a pyfunc model with one {size_mib} MiB file\n")
    print("| step | mlflow server (s) | cairn server (s) | mlflow / cairn |")
    print("| --- | ---: | ---: | ---: |")
    for step in (*STEPS, "total"):
        if step == "total":
            m, c = sum(mlflow[s] for s in STEPS), sum(cairn[s] for s in STEPS)
        else:
            m, c = mlflow[step], cairn[step]
        print(f"| {step} | {m:.2f} | {c:.2f} | {m / c:.2f}x |")
    print(
        f"| server peak RSS | {mlflow['peak_rss_mib']:.0f} MiB | "
        f"{cairn['peak_rss_mib']:.0f} MiB | |"
    )
    print(
        f"\nloaded bytes match what was logged: mlflow {mlflow['digest_ok']}, "
        f"cairn {cairn['digest_ok']}"
    )


if __name__ == "__main__":
    main()
