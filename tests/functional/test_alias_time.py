"""'What did @champion name at 14:00 on 3 March?' has an answer, from the alias history."""

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cairn import errors
from cairn.api import create_app
from cairn.client import Client
from cairn.services.container import Services
from tests.conftest import bearer


@pytest.fixture
def sdk(services: Services, tmp_path: Path) -> Client:
    http = TestClient(
        create_app(services), base_url="http://cairn.test", headers=bearer(_token(services))
    )
    return Client("http://cairn.test", http=http, cache_dir=tmp_path / "cache", progress=False)


def _moment() -> datetime:
    # Alias moves are stamped to the microsecond; step past the clock's resolution.
    time.sleep(0.01)
    now = datetime.now(UTC)
    time.sleep(0.01)
    return now


def test_alias_at_a_past_time_names_the_version_it_pointed_at_then(
    sdk: Client, tmp_path: Path
) -> None:
    model_file = tmp_path / "model.bin"
    for content in (b"one", b"two", b"three"):
        model_file.write_bytes(content)
        sdk.push("fraud", model_file, capture_provenance=False)
    before_any = _moment()
    sdk.set_alias("fraud", "champion", 1)
    after_first = _moment()
    sdk.set_alias("fraud", "champion", 3)
    after_second = _moment()
    sdk.delete_alias("fraud", "champion")
    after_removal = _moment()

    assert sdk.alias_at("fraud", "champion", after_first).number == 1
    assert sdk.alias_at("fraud", "champion", after_second).number == 3
    with pytest.raises(errors.AliasNotFound):
        sdk.alias_at("fraud", "champion", before_any)
    with pytest.raises(errors.AliasNotFound):
        sdk.alias_at("fraud", "champion", after_removal)
    named = sdk.alias_at("fraud", "champion", after_second)
    assert named.manifest_digest == sdk.get("fraud:3").manifest_digest
    assert [f.digest for f in sdk.get("fraud:3").files or []] == [
        "sha256:" + hashlib.sha256(b"three").hexdigest()
    ]


def test_alias_at_needs_a_time_with_a_zone(sdk: Client, services: Services) -> None:
    http = TestClient(create_app(services), headers=bearer(_token(services)))
    answer = http.get(
        "/api/v1/models/default/fraud/aliases/champion", params={"at": "2026-03-03T14:00:00"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_input"
    answer = http.get("/api/v1/models/default/fraud/aliases/champion", params={"at": "yesterday"})
    assert answer.status_code == 400


def _token(services: Services) -> str:
    return services.settings.admin_token_file.read_text().strip()
