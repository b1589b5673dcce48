"""How long a model's pages take to draw when the model has 100,000 versions.

One command: ``.venv/bin/python -m benchmarks.pages_models [--versions 100000] [--repeat 20]``.
Opens Cairn on the embedded default (SQLite) in a temporary folder, registers the first
versions through the API (the real path, with metrics), writes the rest straight into the
versions table shaped as registration writes them, moves an alias, then requests each page
in-process (FastAPI's TestClient: no socket, so the time is the server's, plus the client's
small share) and prints the median and the worst of ``--repeat`` requests. The pages read one
page of versions, so the figures should not grow with ``--versions``: the target is < 200 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from benchmarks.pages_common import print_table, sign_in, site
from cairn.services.container import Services
from cairn.storage.sql.engine import WRITE
from cairn.storage.sql.tables import models, version_files, versions

CONTENT = b"benchmark weights\n"
DIGEST = "sha256:" + hashlib.sha256(CONTENT).hexdigest()
THROUGH_API = 30


def build(client: TestClient, services: Services, count: int) -> None:
    """``default/big`` with ``count`` versions; ``@champion`` moved three times."""
    api = "/api/v1/models/default"
    client.put(f"/api/v1/namespaces/default/blobs/{DIGEST}", content=CONTENT).raise_for_status()
    client.post(api, json={"name": "big", "card": "# Big\n\nMany versions."}).raise_for_status()
    manifest = [{"path": "w.bin", "size": len(CONTENT), "digest": DIGEST}]
    for n in range(1, THROUGH_API + 1):
        body = {"manifest": manifest, "metrics": {"auc": 0.5 + n / 1e6, "loss": 1 / n}}
        client.post(f"{api}/big/versions", json=body).raise_for_status()
    engine = services.db.engine
    with engine.connect() as conn:
        template = dict(
            conn.execute(select(versions).order_by(versions.c.id.desc())).mappings().first() or {}
        )
        files = [dict(r) for r in conn.execute(select(version_files).where(
            version_files.c.version_id == template["id"])).mappings()]  # fmt: skip
    base = datetime.now(UTC) - timedelta(seconds=count)
    next_id = int(template["id"]) + 1
    batch: list[dict[str, object]] = []
    file_rows: list[dict[str, object]] = []
    for number in range(THROUGH_API + 1, count + 1):
        at = base + timedelta(seconds=number)
        metrics = {"auc": 0.5 + number / 1e6, "loss": 1 / number, f"m{number % 7}": number / 10}
        batch.append({**template, "id": next_id, "number": number, "metrics": metrics,
                      "created_at": at, "updated_at": at, "idempotency_key": None})  # fmt: skip
        file_rows.extend({**f, "id": None, "version_id": next_id} for f in files)
        next_id += 1
        if len(batch) >= 20_000 or number == count:
            with engine.connect().execution_options(**WRITE) as conn, conn.begin():
                conn.execute(insert(versions), batch)
                conn.execute(insert(version_files), [_without_id(f) for f in file_rows])
            batch.clear()
            file_rows.clear()
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        conn.execute(update(models).where(models.c.name == "big").values(next_number=count + 1))
    for number in (count - 50, count - 10, count):
        moved = client.put(f"{api}/big/aliases/champion", json={"version": number})
        moved.raise_for_status()


def _without_id(row: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in row.items() if k != "id"}


def report(client: TestClient, repeat: int) -> None:
    first = client.get("/models/default/big").text
    cursor = first.split("?cursor=", 1)[1].split("&", 1)[0].split('"', 1)[0]
    pages = {
        "model page (newest versions)": "/models/default/big",
        "model page, next page, ?metric=loss": f"/models/default/big?cursor={cursor}&metric=loss",
        "namespace page": "/namespaces/default",
        "alias history": "/models/default/big/aliases/champion",
    }
    print_table(client, pages, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with site() as (client, services, token):
        started = time.perf_counter()
        build(client, services, args.versions)
        took = time.perf_counter() - started
        print(f"built default/big with {args.versions} versions in {took:.1f} s")
        sign_in(client, services, token)
        report(client, args.repeat)


if __name__ == "__main__":
    main()
