"""What the page benchmarks share: a Cairn on the embedded default in a temporary folder with
an in-process client, signing that client in, and timing pages against the 200 ms target."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from cairn.api.app import create_app
from cairn.api.pages.session import COOKIE
from cairn.config import load_settings
from cairn.services.container import Services

TARGET_MS = 200.0


@contextmanager
def site() -> Iterator[tuple[TestClient, Services, str]]:
    """A fresh Cairn (SQLite, local folder), a client calling it in-process with the admin's
    bearer token, its services and that token."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        settings = load_settings(
            data_dir=root / "data", blob_url=(root / "blobs").as_uri(), allowed_hosts="testserver"
        )
        services = Services.open(settings)
        services.identity.bootstrap(settings.admin_token_file)
        token = settings.admin_token_file.read_text().strip()
        try:
            with TestClient(
                create_app(services), headers={"Authorization": f"Bearer {token}"}
            ) as client:
                yield client, services, token
        finally:
            services.close()


def sign_in(client: TestClient, services: Services, token: str) -> None:
    """Give the client a pages session, as a browser that signed in holds."""
    client.cookies.set(COOKIE, services.sessions.sign_in(token, None).secret)


def timed(client: TestClient, path: str, repeat: int) -> tuple[float, float]:
    """The median and the worst of ``repeat`` requests of ``path``, in ms, after one to warm."""
    client.get(path).raise_for_status()  # warm: templates compiled, caches filled
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, f"{path}: {answer.status_code}"
    return statistics.median(times), max(times)


def print_table(client: TestClient, pages: dict[str, str], repeat: int) -> None:
    print(f"{'page':40} {'median ms':>10} {'worst ms':>10}")
    for name, path in pages.items():
        median, worst = timed(client, path, repeat)
        verdict = "ok" if median < TARGET_MS else "OVER TARGET"
        print(f"{name:40} {median:10.1f} {worst:10.1f}  {verdict}")
