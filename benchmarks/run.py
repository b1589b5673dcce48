#!/usr/bin/env python3
"""Cairn and MLflow side by side, in one command, on this machine, in this run.

    benchmarks/run.sh                         # full: MLflow default + nodelay, then Cairn
    benchmarks/run.sh --quick                 # smoke run with small sizes (~3 min)
    benchmarks/run.sh --skip-mlflow-default --repeat 1
    benchmarks/run.sh --workers 2 -- --w5-client httpx    # after --: to registry_workload.py

Steps: (a) the MLflow venv at /tmp/mlbench/venv (made as /work/shared/bench/README.md says,
skipped when it is already there); (b) MLflow ``default`` and ``nodelay`` through the shared
``run_mlflow_baseline.sh``, each on a fresh database; (c) ``cairn server`` on a fresh
``CAIRN_DATA_DIR``, the same workloads, sizes and repeat count through
``benchmarks/cairn_adapter.py``; (d) the tables of the shared ``summarize.py``, then every figure
with Cairn's ratio to each MLflow variant, the server memory figures and the issue's targets.

Only the standard library here; the harness runs under the MLflow venv (MLflow) and the
project's venv (Cairn, plus psutil installed into /tmp/cairnbench/pylib for memory sampling).
Results go to --out (default benchmarks/results/<timestamp>/, gitignored); the servers' data
and MLflow's artifacts go under /tmp and are deleted afterwards unless --keep-data.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import mlflow_venv  # beside this script, as reporting
from mlflow_venv import MLFLOW_VERSION

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
HARNESS = Path(os.environ.get("CAIRN_BENCH_HARNESS", "/work/shared/bench"))
MLBENCH = Path(os.environ.get("MLBENCH_ROOT", "/tmp/mlbench"))
MLFLOW_VENV = MLBENCH / "venv"
CAIRN_PY = PROJECT / ".venv" / "bin" / "python"
CAIRN_BIN = PROJECT / ".venv" / "bin" / "cairn"
SCRATCH = Path(os.environ.get("CAIRN_BENCH_SCRATCH", "/tmp/cairnbench"))
PYLIB = SCRATCH / "pylib"
W5_DATA = MLBENCH / "data"  # the harness's default --w5-data-dir: one file for both sides
ADAPTER = "benchmarks.cairn_adapter:CairnAdapter"

FULL_SIZES: list[str] = []  # the harness's defaults are the sizes
QUICK_SIZES = [
    "--w1-versions",
    "100",
    "--w2-threads",
    "8",
    "--w2-per-thread",
    "20",
    "--w3-calls",
    "200",
    "--w3-versions",
    "20",
    "--w4-models",
    "10",
    "--w4-versions",
    "200",
    "--w4-calls",
    "10",
    "--w5-size-mib",
    "64",
    "--w5-big-repeat",
    "1",
    "--w5-small-count",
    "20",
]


def log(msg: str) -> None:
    print(f"[run {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    log("$ " + " ".join(str(c) for c in cmd))
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def wait_idle(limit_s: float, below: float = 0.7) -> None:
    """Wait (up to ``limit_s``) for the 1-minute load average to drop below ``below``: the
    machine has 2 cores shared by client and server, and anything else running skews both."""
    if limit_s <= 0:
        return
    deadline = time.monotonic() + limit_s
    while os.getloadavg()[0] >= below and time.monotonic() < deadline:
        time.sleep(5)
    log(f"load average {os.getloadavg()}")


def loads(tag: str, where: dict) -> None:
    where.setdefault("loadavg", []).append([tag, time.strftime("%H:%M:%S"), os.getloadavg()])


def git_state() -> dict:
    """The code under test: HEAD plus a hash of the uncommitted changes to cairn/."""

    def git(*args: str) -> str:
        r = subprocess.run(["git", *args], cwd=PROJECT, capture_output=True, text=True)
        return r.stdout.strip()

    diff = git("diff", "HEAD", "--", "cairn")
    import hashlib

    return {
        "head": git("rev-parse", "--short", "HEAD"),
        "cairn_dirty_files": git("status", "--short", "--", "cairn").splitlines(),
        "cairn_diff_sha256": hashlib.sha256(diff.encode()).hexdigest()[:12] if diff else None,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flag_value(argv: list[str], name: str, default: str) -> str:
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return default


# --------------------------------------------------------------------------- environments
def ensure_mlflow_venv() -> None:
    log(f"MLflow venv at {MLFLOW_VENV} (as /work/shared/bench/README.md says)")
    if mlflow_venv.ensure(MLFLOW_VENV):
        log(f"MLflow venv ok: {MLFLOW_VENV} (mlflow {MLFLOW_VERSION})")


def ensure_pylib() -> None:
    """psutil for the Cairn-side harness process (the project's venv does not carry it)."""
    env = dict(os.environ, PYTHONPATH=str(PYLIB))
    r = subprocess.run([str(CAIRN_PY), "-c", "import psutil"], env=env, capture_output=True)
    if r.returncode == 0:
        return
    sh([CAIRN_PY, "-m", "pip", "install", "-q", "--target", PYLIB, "psutil"])


def w5_file(size_mib: int) -> tuple[Path, str]:
    """The harness's own W5 file (made by its Bench.w5_blob), shared by every system."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import registry_workload as rw; "
        "from types import SimpleNamespace as N; "
        "a = N(w5_size_mib=int(sys.argv[2]), w5_data_dir=sys.argv[3]); "
        "p, s, h = rw.Bench.w5_blob(N(args=a)); "
        "print(p); print(h)"
    )
    r = subprocess.run(
        [str(CAIRN_PY), "-c", code, str(HARNESS), str(size_mib), str(W5_DATA)],
        check=True,
        capture_output=True,
        text=True,
    )
    path, digest = r.stdout.split()
    return Path(path), digest


def sha256sum_reference(path: Path, runs: int = 3) -> dict:
    """``sha256sum`` on the W5 file (the issue's reference), plus ``openssl dgst -sha256``
    and Python's hashlib (what the SDK and the server use) as stricter references."""
    mib = path.stat().st_size / (1 << 20)
    hashlib_code = (
        "import hashlib,sys\nh=hashlib.sha256()\nf=open(sys.argv[1],'rb')\n"
        "while b:=f.read(8<<20): h.update(b)\nprint(h.hexdigest())"
    )
    out: dict = {"file": str(path)}
    for name, cmd in (
        ("sha256sum", ["sha256sum", str(path)]),
        ("openssl", ["openssl", "dgst", "-sha256", str(path)]),
        ("hashlib", [str(CAIRN_PY), "-c", hashlib_code, str(path)]),
    ):
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True)
            times.append(time.perf_counter() - t)
            if r.returncode != 0:
                break
        if r.returncode != 0:
            continue
        med = statistics.median(times)
        ref = {
            "runs_s": [round(x, 3) for x in times],
            "median_s": round(med, 3),
            "mib_per_s": round(mib / med, 1),
        }
        if name == "sha256sum":
            out.update(ref)
        else:
            out[name] = ref
    return out


# --------------------------------------------------------------------------- runs
def run_mlflow(
    variant: str, a, sizes: list[str], extra: list[str], out: Path, scratch: Path
) -> Path:
    root = scratch / f"mlflow_{variant}"
    root.mkdir(parents=True, exist_ok=True)
    results = out / f"mlflow_{variant}.jsonl"
    env = dict(
        os.environ,
        VARIANT=variant,
        ROOT=str(root),
        VENV=str(MLFLOW_VENV),
        PORT=str(free_port()),
        WORKLOADS=a.workloads,
        REPEAT=str(a.repeat),
    )
    t = time.perf_counter()
    with open(out / f"mlflow_{variant}.stdout", "w") as f:
        sh(
            [
                "bash",
                HARNESS / "run_mlflow_baseline.sh",
                *sizes,
                *extra,
                "--run-id",
                f"{variant}{time.strftime('%H%M%S')}",
                "--out",
                results,
            ],
            env=env,
            stdout=f,
            stderr=subprocess.STDOUT,
        )
    log(f"MLflow {variant}: {time.perf_counter() - t:.0f} s")
    for name in ("logs",):
        if (root / name).is_dir():
            shutil.copytree(root / name, out / f"mlflow_{variant}_{name}", dirs_exist_ok=True)
    if not a.keep_data:
        shutil.rmtree(root / "artifacts", ignore_errors=True)
    return results


def listening_pid_ok(root_pid: int, port: int) -> bool:
    """True when the socket listening on ``port`` belongs to ``root_pid`` or its children."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f[9])
    pids = [root_pid]
    try:
        for child in Path(f"/proc/{root_pid}/task/{root_pid}/children").read_text().split():
            pids.append(int(child))
    except OSError:
        pass
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return True
        except OSError:
            continue
    return False


def run_cairn(a, sizes: list[str], extra: list[str], out: Path, scratch: Path, blob: Path) -> Path:
    data = scratch / "cairn_data"
    if data.exists():
        shutil.rmtree(data)
    port = free_port()
    pidfile = scratch / "cairn.pid"
    results = out / "cairn.jsonl"
    pyenv = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PROJECT), str(HARNESS), str(PYLIB)]))
    server_env = [
        f"CAIRN_DATA_DIR={data}",
        # curl mode PUTs the whole W5 file in one request; the SDK itself never does (32 MiB).
        f"CAIRN_MAX_BLOB_BYTES={4 << 30}",
        "PYTHONPATH=",
    ]
    cmd = [
        CAIRN_PY,
        HARNESS / "serverctl.py",
        "start",
        "--pidfile",
        pidfile,
        "--log",
        out / "cairn_server.log",
        "--wait-url",
        f"http://127.0.0.1:{port}/readyz",
    ]
    for kv in server_env:
        cmd += ["--env", kv]
    server = [CAIRN_BIN, "server", "--port", str(port), "--workers", str(a.workers)]
    if a.server_prefix:
        server = a.server_prefix.split() + [str(x) for x in server]
    sh([*cmd, "--", *server], env=pyenv, stdout=subprocess.DEVNULL)
    try:
        pid = int(pidfile.read_text())
        time.sleep(2 + a.workers)  # let every worker finish importing
        if not a.server_prefix and not listening_pid_ok(pid, port):
            raise SystemExit(f"port {port} is not served by our Cairn (pid {pid}); see the log")
        env = dict(
            pyenv,
            CAIRN_BENCH_DATA_DIR=str(data),
            CAIRN_BENCH_CURL_FILE=str(blob),
            CAIRN_BENCH_DOWNLOAD=a.cairn_download,
        )
        t = time.perf_counter()
        with open(out / "cairn.stdout", "w") as f:
            sh(
                [
                    CAIRN_PY,
                    HARNESS / "registry_workload.py",
                    "--target",
                    ADAPTER,
                    "--url",
                    f"http://127.0.0.1:{port}",
                    "--server-pid",
                    str(pid),
                    "--workloads",
                    a.workloads,
                    "--repeat",
                    str(a.repeat),
                    *sizes,
                    *extra,
                    "--run-id",
                    f"c{time.strftime('%H%M%S')}",
                    "--out",
                    results,
                ],
                env=env,
                stdout=f,
                stderr=subprocess.STDOUT,
                cwd=PROJECT,
            )
        log(f"Cairn: {time.perf_counter() - t:.0f} s")
    finally:
        subprocess.run(
            [str(CAIRN_PY), str(HARNESS / "serverctl.py"), "stop", "--pidfile", str(pidfile)],
            env=pyenv,
        )
    if not a.keep_data:
        shutil.rmtree(data, ignore_errors=True)
    return results


# --------------------------------------------------------------------------- report
from reporting import report  # noqa: E402  (beside this script)


def main() -> None:
    argv = sys.argv[1:]
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1 :]
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--workloads",
        default="W4,W1,W2,W3,W5",
        help="comma list, in the order to run (W4 first: everything else then runs "
        "on the 100k-version database, as in BASELINE.md)",
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    ap.add_argument(
        "--skip-mlflow-default",
        action="store_true",
        help="MLflow nodelay only (the default variant takes ~25 min at full size)",
    )
    ap.add_argument("--skip-mlflow", action="store_true", help="Cairn only (for iteration)")
    ap.add_argument("--skip-cairn", action="store_true")
    ap.add_argument("--workers", type=int, default=1, help="cairn server --workers (default 1)")
    ap.add_argument(
        "--cairn-download",
        choices=["stream", "fetch"],
        default="stream",
        help="stream: hash while streaming and compare (default); fetch: the SDK's "
        "Downloader.fetch, which also writes and fsyncs a cache file",
    )
    ap.add_argument(
        "--server-prefix", default="", help="command put before `cairn server` (e.g. a profiler)"
    )
    ap.add_argument("--out", default=None, help="default benchmarks/results/<timestamp>")
    ap.add_argument("--keep-data", action="store_true", help="keep databases and artifacts")
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each system, wait up to SECONDS for the load average to fall "
        "below 0.7 (other work on the machine skews the figures)",
    )
    a = ap.parse_args(argv)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(a.out) if a.out else HERE / "results" / stamp
    out.mkdir(parents=True, exist_ok=True)
    scratch = SCRATCH / "runs" / stamp
    scratch.mkdir(parents=True, exist_ok=True)
    sizes = QUICK_SIZES if a.quick else FULL_SIZES
    all_args = sizes + extra
    size_mib = int(flag_value(all_args, "--w5-size-mib", "1024"))
    global W5_DATA
    W5_DATA = Path(flag_value(all_args, "--w5-data-dir", str(W5_DATA)))
    config = {
        "argv": sys.argv,
        "stamp": stamp,
        "sizes": sizes,
        "extra": extra,
        "git": git_state(),
        "workers": a.workers,
        "cairn_download": a.cairn_download,
        "out": str(out),
        "scratch": str(scratch),
        "load_before": os.getloadavg(),
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    log(f"results -> {out}")

    if not a.skip_mlflow:
        ensure_mlflow_venv()
    ensure_pylib()
    files: dict[str, Path] = {}
    sha = None
    blob = None
    if "W5" in a.workloads.upper():
        blob, _ = w5_file(size_mib)
        sha = sha256sum_reference(blob)
        log(f"sha256sum {blob}: {sha['median_s']} s")
        (out / "sha256sum.json").write_text(json.dumps(sha))
    variants = (
        [] if a.skip_mlflow else (["nodelay"] if a.skip_mlflow_default else ["default", "nodelay"])
    )
    for v in variants:
        wait_idle(a.wait_idle)
        loads(f"{v} start", config)
        files[v] = run_mlflow(v, a, sizes, extra, out, scratch)
        loads(f"{v} end", config)
    if not a.skip_cairn:
        wait_idle(a.wait_idle)
        loads("cairn start", config)
        config["git_at_cairn_start"] = git_state()  # others may commit while MLflow runs
        files["cairn"] = run_cairn(a, sizes, extra, out, scratch, blob or Path("/nonexistent"))
        loads("cairn end", config)
    (out / "config.json").write_text(json.dumps(config, indent=2))
    if not a.keep_data:
        shutil.rmtree(scratch, ignore_errors=True)

    order = [k for k in ("default", "nodelay", "cairn") if k in files]
    lines = [
        f"# Cairn vs MLflow {MLFLOW_VERSION}, {stamp}",
        "",
        f"Command: `{' '.join(sys.argv)}`  ",
        f"Cairn workers: {a.workers}; Cairn download mode: {a.cairn_download}; "
        f"sizes: {'quick' if a.quick else 'full (harness defaults)'}; repeat {a.repeat}; "
        f"load averages (1/5/15 min): {config.get('loadavg')}  ",
        f"code at start: {config['git']}; when Cairn started: {config.get('git_at_cairn_start')}",
        "",
    ]
    r = subprocess.run(
        [
            sys.executable,
            str(HARNESS / "summarize.py"),
            *[str(files[k]) for k in order],
            "--label",
            ",".join(order),
        ],
        capture_output=True,
        text=True,
    )
    lines += ["## summarize.py", "", r.stdout + r.stderr, ""]
    report(files, sha, a, lines)
    text = "\n".join(lines)
    (out / "report.md").write_text(text)
    print(text)
    log(f"report: {out / 'report.md'}")


if __name__ == "__main__":
    main()
