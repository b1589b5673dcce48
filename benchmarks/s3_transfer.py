"""A big model through S3: push and pull one file of ``--size-mib`` through a ``cairn server``
whose blobs are in S3 (moto's server on loopback, or ``--endpoint`` with the ``CAIRN_S3_*``
settings for a real one), reporting throughput and the server's peak memory (VmHWM).

One command: ``.venv/bin/python -m benchmarks.s3_transfer [--size-mib 1024]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from cairn import Client
from tests.contract.s3_server import start_s3_server

MiB = 1 << 20


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident memory, as the kernel counts it (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cairn-s3-bench-") as scratch:
        root = Path(scratch)
        s3 = start_s3_server(root)
        try:
            run(root, s3.env(f"bench-{uuid.uuid4().hex[:8]}"), args.size_mib)
        finally:
            s3.stop()


def run(root: Path, s3_env: dict[str, str], size_mib: int) -> None:
    model = root / "model"
    model.mkdir()
    big = model / "weights.bin"
    with big.open("wb") as out:
        block = os.urandom(8 * MiB)
        for _ in range(size_mib // 8):
            out.write(block)
    port = subprocess.check_output(
        [
            sys.executable,
            "-c",
            "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])",
        ],
        text=True,
    ).strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env.update({"CAIRN_DATA_DIR": str(root / "data"), "CAIRN_LOG_LEVEL": "warning", **s3_env})
    server = subprocess.Popen(
        [sys.executable, "-m", "cairn", "server", "--port", port],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        token = (root / "data" / "admin-token").read_text().strip()
        idle = peak_rss_mib(server.pid)
        with Client(url, token=token, progress=False, cache_dir=root / "push-cache") as cairn:
            started = time.perf_counter()
            cairn.push("default/big", model, capture_provenance=False)
            push_s = time.perf_counter() - started
        with Client(url, token=token, progress=False, cache_dir=root / "pull-cache") as cairn:
            started = time.perf_counter()
            cairn.pull("default/big:1", root / "pulled")
            pull_s = time.perf_counter() - started
        same = _sha(root / "pulled" / "weights.bin") == _sha(big)
        peak = peak_rss_mib(server.pid)
        print(f"{size_mib} MiB through S3 (moto on loopback), one server process")
        print(f"  push  {push_s:7.2f} s  {size_mib / push_s:8.1f} MiB/s")
        print(f"  pull  {pull_s:7.2f} s  {size_mib / pull_s:8.1f} MiB/s   byte-identical: {same}")
        print(f"  server peak RSS {peak:.1f} MiB (at start {idle:.1f} MiB; grew {peak - idle:.1f})")
    finally:
        server.terminate()
        server.wait(timeout=30)


def _sha(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 * MiB):
            hasher.update(block)
    return hasher.hexdigest()


if __name__ == "__main__":
    main()
