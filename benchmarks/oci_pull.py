"""oras pulling a big model from Cairn's OCI API: push one file of ``--size-mib`` with
``cairn push``, then time ``oras`` (oras-py) pulling it through ``/v2/`` (median of
``--repeat``), checking the bytes, and report MiB/s and the server's peak memory (VmHWM).

One command: ``.venv/bin/python -m benchmarks.oci_pull [--size-mib 1024] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import oras.client

MiB = 1 << 20


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory, as the kernel counts it (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sha256_of(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 * MiB):
            hasher.update(block)
    return hasher.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cairn-oci-bench-") as scratch:
        run(Path(scratch), args.size_mib, args.repeat)


def run(root: Path, size_mib: int, repeat: int) -> None:
    model = root / "model"
    model.mkdir()
    big = model / "weights.bin"
    with big.open("wb") as out:
        for _ in range(size_mib):
            out.write(os.urandom(MiB))
    expected = sha256_of(big)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env.update({"CAIRN_DATA_DIR": str(root / "data"), "CAIRN_LOG_LEVEL": "warning"})
    server = subprocess.Popen(
        [sys.executable, "-m", "cairn", "server", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        token = (root / "data" / "admin-token").read_text().strip()
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "cairn", "push", "default/big", str(model), "--no-provenance"],
            env={**env, "CAIRN_URL": url, "CAIRN_TOKEN": token},
            check=True,
            capture_output=True,
        )
        push_seconds = time.perf_counter() - started
        client = oras.client.OrasClient(insecure=True)
        client.auth.set_basic_auth("bench", token)  # through the challenge and /v2/token
        target = f"127.0.0.1:{port}/default/big:1"
        client.get_manifest(target)  # builds and stores the version's manifest once
        times = []
        for attempt in range(repeat):
            out = root / f"pulled-{attempt}"
            started = time.perf_counter()
            client.pull(target=target, outdir=str(out))
            times.append(time.perf_counter() - started)
            if sha256_of(out / "weights.bin") != expected:
                raise SystemExit("the pulled bytes differ from the pushed ones")
            shutil.rmtree(out)
        median = statistics.median(times)
        print(f"file: {size_mib} MiB, cairn push {push_seconds:.2f} s")
        print(f"oras pull x{repeat}: " + ", ".join(f"{t:.2f} s" for t in times))
        print(f"oras pull median: {median:.2f} s = {size_mib / median:.0f} MiB/s (bytes verified)")
        print(f"server peak RSS (VmHWM): {peak_rss_mib(server.pid):.0f} MiB")
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_ready(url: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not become ready")


if __name__ == "__main__":
    main()
