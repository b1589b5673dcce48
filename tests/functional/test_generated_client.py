"""A client generated from Cairn's OpenAPI document, by a generator nobody at Cairn wrote
(openapi-python-client), drives a real server: the document is complete enough to be used.

The generator reads ``/api/v1/openapi.json`` from a live server, writes a package into the
test's folder, and the test imports it and calls it as its users would: typed request models
in, typed response models out, Cairn's error body on a refusal.
"""

from __future__ import annotations

import hashlib
import importlib
import io
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


def test_a_generated_client_pushes_registers_promotes_and_resolves(
    server: LiveServer, generated: ModuleType
) -> None:
    """The flow a CI job runs, through nothing but the generated client: upload the file,
    register a version naming it, promote it to staging, resolve what staging names."""
    types = importlib.import_module(f"{generated.__name__}.types")
    weights = b"generated-client weights\n"
    digest = "sha256:" + hashlib.sha256(weights).hexdigest()
    with generated.AuthenticatedClient(base_url=server.url, token=server.token) as client:
        put = operation(generated, "blobs", "put_blob").sync_detailed(
            "default", digest, client=client, body=types.File(payload=io.BytesIO(weights))
        )
        assert put.status_code == 201, put.content
        assert put.parsed.digest == digest
        manifest = [
            model(generated, "ManifestFile")(path="weights.bin", size=len(weights), digest=digest)
        ]
        new = model(generated, "NewVersion")(
            manifest=manifest, description="from a generated client"
        )
        version = operation(generated, "versions", "register_version").sync(
            "default", "fraud", client=client, body=new
        )
        assert isinstance(version, model(generated, "Version")), version
        assert (version.number, version.state) == (1, "registered")
        target = model(generated, "NewPromotionTarget")("staging")
        promoted = operation(generated, "lifecycle", "promote_version").sync(
            "default",
            "fraud",
            "1",
            client=client,
            body=model(generated, "NewPromotion")(target=target),
        )
        assert isinstance(promoted, model(generated, "Promotion")), promoted
        assert promoted.applied and promoted.version.state == "staging"
        found = operation(generated, "versions", "resolve").sync(
            client=client, ref="default/fraud:latest"
        )
        assert isinstance(found, model(generated, "Version")), found
        assert found.manifest_digest == version.manifest_digest
        assert [(f.path, f.digest) for f in found.files] == [("weights.bin", digest)]
        refused = operation(generated, "versions", "resolve").sync_detailed(
            client=client, ref="default/fraud:2"
        )
        assert refused.status_code == 404
        assert refused.parsed.error.code == "version_not_found"
