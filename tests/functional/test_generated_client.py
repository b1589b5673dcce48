"""A client generated from Cairn's OpenAPI document, by a generator nobody at Cairn wrote
(openapi-python-client), drives a real server: the document is complete enough to be used.

The generator reads ``/api/v1/openapi.json`` from a live server, writes a package into the
test's folder, and the test imports it and calls it as its users would: typed request models
in, typed response models out, Cairn's error body on a refusal.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, start_live_server

PACKAGE = "cairn_generated"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path)
    yield live
    live.stop()


@pytest.fixture
def generated(server: LiveServer, tmp_path: Path) -> Iterator[ModuleType]:
    """The generated package, imported from the test's folder."""
    document = tmp_path / "openapi.json"
    document.write_bytes(httpx.get(f"{server.url}/api/v1/openapi.json").content)
    bin_dir = Path(sys.executable).parent
    done = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "gen" / PACKAGE),
        ],
        # The generator formats what it writes with ruff, which it finds on PATH.
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Every operation and schema was generated: the generator warns of what it skips.
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(tmp_path / "gen"))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path / "gen"))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def operation(package: ModuleType, tag: str, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.api.{tag}.{name}")


def model(package: ModuleType, name: str) -> Any:
    return getattr(importlib.import_module(f"{package.__name__}.models"), name)


def test_a_generated_client_creates_and_reads_a_namespace(
    server: LiveServer, generated: ModuleType
) -> None:
    with generated.AuthenticatedClient(base_url=server.url, token=server.token) as client:
        _namespace_round_trip(generated, client)


def _namespace_round_trip(generated: ModuleType, client: Any) -> None:
    new = model(generated, "NewNamespace")(name="risk", description="credit risk")
    created = operation(generated, "namespaces", "create_namespace").sync(client=client, body=new)
    assert isinstance(created, model(generated, "Namespace")), created
    assert (created.name, created.description) == ("risk", "credit risk")
    found = operation(generated, "namespaces", "get_namespace").sync("risk", client=client)
    assert found.created_at == created.created_at
    again = operation(generated, "namespaces", "create_namespace").sync_detailed(
        client=client, body=new
    )
    assert again.status_code == 409
    assert again.parsed.error.code == "namespace_exists"
