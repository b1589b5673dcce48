"""What governance costs: a rollback from command to alias moved, and a policy evaluation.

One command: ``.venv/bin/python -m benchmarks.governance``. Starts a ``cairn server`` on the
embedded default in a temporary folder, makes two production versions of a model, then times
``cairn rollback`` (the CLI, a new process each time: what an SRE types), the same through the
SDK (one HTTP request), and the policy evaluation alone and through ``promote --check``.
"""

from __future__ import annotations

import hashlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from cairn import Client
from cairn.domain.lifecycle import DEFAULT_POLICY, evaluate, parse_policy

DOC = {
    "state": "staging",
    "author": "alice",
    "metrics": {"auc": 0.93, "f1": 0.8},
    "params": {"lr": "0.1"},
    "tags": {"team": "risk"},
    "provenance": {"code": {"commit": "abc"}},
    "validations": {"bias": {"status": "passed"}, "scan": {"status": "clean"}},
}
POLICY = {
    "states": {
        "production": {
            "rules": [
                {"name": "auc", "expr": "metrics.auc >= 0.9"},
                {"name": "f1", "expr": "metrics.f1 > 0.5"},
                {"name": "commit", "expr": "has(provenance.code.commit)"},
                {"name": "team", "expr": 'tags.team == "risk"'},
                {"name": "bias", "expr": 'validations.bias.status == "passed"'},
            ],
            "approvals": 2,
            "require_clean_scan": True,
            "required_validations": ["bias"],
        }
    }
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def median_ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1] if len(ordered) >= 20 else ordered[-1]
    return f"p50 {statistics.median(samples) * 1000:8.3f} ms   p95 {p95 * 1000:8.3f} ms"


def policy_evaluation() -> None:
    policy = parse_policy(POLICY)
    default = parse_policy(DEFAULT_POLICY)
    for name, chosen in (("5 CEL rules + checks", policy), ("the default policy", default)):
        for _ in range(50):
            evaluate(chosen, "production", DOC, {"bob", "carol"}, "alice")
        samples = []
        for _ in range(500):
            started = time.perf_counter()
            evaluate(chosen, "production", DOC, {"bob", "carol"}, "alice")
            samples.append(time.perf_counter() - started)
        print(f"  policy evaluation, {name:24} {median_ms(samples)}")


def main() -> None:
    print("policy evaluation (in-process, rules compiled once and cached)")
    policy_evaluation()
    with tempfile.TemporaryDirectory(prefix="cairn-gov-bench-") as scratch:
        data = Path(scratch) / "data"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
        env.update({"CAIRN_DATA_DIR": str(data), "CAIRN_LOG_LEVEL": "warning"})
        server = subprocess.Popen(
            [sys.executable, "-m", "cairn", "server", "--port", str(port)],
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
            run(url, data, env)
        finally:
            server.terminate()
            server.wait()


def run(url: str, data: Path, env: dict[str, str]) -> None:
    token = (data / "admin-token").read_text().strip()
    with Client(url, token=token, progress=False) as cairn:
        setup(cairn, url, token)
        check = []
        for _ in range(100):
            started = time.perf_counter()
            cairn.promote("default/m:2", "production", check=True)
            check.append(time.perf_counter() - started)
        print("through the API (embedded server, SQLite)")
        print(f"  promote --check (reads + policy), SDK     {median_ms(check)}")
        sdk = []
        for i in range(100):
            started = time.perf_counter()
            cairn.rollback("default/m@production", to=2 - i % 2)
            sdk.append(time.perf_counter() - started)
        print(f"  rollback, SDK call to alias moved          {median_ms(sdk)}")
    cli = []
    for i in range(10):
        started = time.perf_counter()
        command = [sys.executable, "-m", "cairn", "--url", url, "--token", token]
        command += ["rollback", "default/m@production", "--to", str(2 - i % 2)]
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        cli.append(time.perf_counter() - started)
    print(f"  rollback, `cairn rollback` command          {median_ms(cli)}")


def setup(cairn: Client, url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    digest = "sha256:" + hashlib.sha256(b"w").hexdigest()
    httpx.put(
        f"{url}/api/v1/namespaces/default/blobs/{digest}", content=b"w", headers=headers
    ).raise_for_status()
    body = {"manifest": {"files": [{"path": "w", "digest": digest, "size": 1}]}}
    for _ in range(2):
        httpx.post(
            f"{url}/api/v1/models/default/m/versions", json=body, headers=headers
        ).raise_for_status()
    cairn.create_principal("approver")
    cairn.grant("approver", "default", "approver")
    secret = cairn.create_token("t", principal="approver")["secret"]
    with Client(url, token=secret, progress=False) as approver:
        for number in (1, 2):
            cairn.promote(f"default/m:{number}", "staging")
            request = cairn.promote(f"default/m:{number}", "production").request
            if request is not None:  # a policy that asks for approvals
                approver.approve(request.id)
    cairn.set_alias("default/m", "production", 1)


if __name__ == "__main__":
    main()
