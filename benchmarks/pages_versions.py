"""How long a version's page and the compare page take to draw for versions of 10,000 files.

One command: ``.venv/bin/python -m benchmarks.pages_versions [--files 10000] [--repeat 20]``.
Opens Cairn on the embedded default (SQLite) in a temporary folder, registers two versions of
``--files`` files each through the API (the real path: scanned, audited), promotes the second,
records deployments and tags so its page has a trail to draw, then requests each page
in-process (FastAPI's TestClient: no socket, so the time is the server's, plus the client's
small share) and prints the median and the worst of ``--repeat`` requests. The pages read one
page of files (the compare page one window of each side), so the figures should not grow
with ``--files``: the target is < 200 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import time

from fastapi.testclient import TestClient

from benchmarks.pages_common import print_table, sign_in, site

MODEL = "/api/v1/models/default/big"


def blob(client: TestClient, content: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    client.put(f"/api/v1/namespaces/default/blobs/{digest}", content=content).raise_for_status()
    return digest


def build(client: TestClient, count: int) -> None:
    """``default/big:1`` and ``:2``, ``count`` files each; every tenth file differs."""
    shared = blob(client, b"benchmark shard\n")
    changed = blob(client, b"benchmark shard, retrained\n")
    for number in (1, 2):
        files = [
            {
                "path": f"shards/part-{i:06d}.bin",
                "size": len(b"benchmark shard\n") if number == 1 or i % 10 else 27,
                "digest": shared if number == 1 or i % 10 else changed,
            }
            for i in range(count)
        ]
        body = {
            "manifest": {"files": files},
            "metrics": {"auc": 0.9 + number / 100, "loss": 0.3 / number},
            "params": {"lr": str(0.1 / number), "layers": "4"},
            "provenance": {"code": {"commit": "abcdef1"}, "run": {"id": f"run-{number}"}},
        }
        client.post(f"{MODEL}/versions", json=body).raise_for_status()
    client.post(f"{MODEL}/versions/2/promote", json={"target": "staging"}).raise_for_status()
    for n in range(20):
        step = {"target": f"eu-{n % 3}", "strategy": "canary", "weight": 5 * (n % 20 + 1)}
        client.post(f"{MODEL}/versions/2/deployments", json=step).raise_for_status()
        client.put(f"{MODEL}/versions/2/tags/step", json={"value": str(n)}).raise_for_status()


def next_link(client: TestClient, path: str) -> str:
    found = re.search(r'rel="next" href="([^"]+)"', client.get(path).text)
    assert found is not None, f"{path} has no next page"
    return found.group(1).replace("&amp;", "&")


def report(client: TestClient, repeat: int) -> None:
    version = "/models/default/big/versions/2"
    compare = "/compare?a=default/big:1&b=default/big:2"
    pages = {
        "version page (first files)": version,
        "version page, next files": next_link(client, version),
        "version page, by latest": "/models/default/big/versions/latest",
        "compare (first window)": compare,
        "compare, next window": next_link(client, compare),
    }
    print_table(client, pages, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with site() as (client, services, token):
        started = time.perf_counter()
        build(client, args.files)
        took = time.perf_counter() - started
        print(f"built two versions of {args.files} files in {took:.1f} s")
        sign_in(client, services, token)
        report(client, args.repeat)


if __name__ == "__main__":
    main()
