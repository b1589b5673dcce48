"""What schemathesis found (``test_fuzz.py``), as the requests a client would send: each was a
500 and is a 4xx in Cairn's error shape, or the surface's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, start_live_server
from tests.functional import error_code


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path)
    yield live
    live.stop()


def test_text_that_is_not_ascii_where_base64_is_expected_is_a_4xx(server: LiveServer) -> None:
    """Cursors, MLflow page tokens and Basic credentials that are not ASCII: base64 of such
    text raises another error than base64 of bad ASCII, and it was a 500."""
    api = f"{server.url}/api/v1"
    for url in (f"{api}/models", f"{api}/versions", f"{api}/models/default/x/versions"):
        for cursor in ("ü", "\u2028abc", "Zm9v\u00e9"):
            found = httpx.get(url, params={"cursor": cursor}, headers=server.headers)
            assert found.status_code == 400 and error_code(found) == "invalid_cursor", found.text
    search = f"{server.url}/api/2.0/mlflow/registered-models/search"
    token = httpx.get(search, params={"page_token": "é"}, headers=server.headers)
    assert token.status_code == 400, token.text
    assert token.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    basic = httpx.get(
        f"{server.url}/v2/default/x/tags/list", headers={"Authorization": b"Basic \xfc\xe9=="}
    )
    assert basic.status_code == 401, basic.text
