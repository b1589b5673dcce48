"""One ``Authorization`` reader on every surface (``cairn.api.credentials``), played from outside.

The real app in-process, over SQLite and PostgreSQL: the same headers, well-formed and
hostile, go to ``/api/v1``, MLflow's REST API, ``/v2/`` and its token endpoint. Every surface
takes a Cairn token as a bearer or as a Basic password, in any spelling the rules allow, and
refuses everything else with its own 401 (never a 500); and the unchanged MLflow client signs
in with a user name and password.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cairn.api.credentials import HEADER_MAX
from cairn.config import Settings
from cairn.services.container import Services
from tests.conftest import LiveServer, start_live_server
from tests.functional import error_code
from tests.functional.oci_support import oci_error
from tests.functional.test_bad_input import Api, _open

SURFACES = {
    "api": "/api/v1/whoami",
    "mlflow": "/api/2.0/mlflow/registered-models/search",
    "oci": "/v2/",
    "oci-token": "/v2/token",
}


@pytest.fixture
def api(services: Services, settings: Settings) -> Iterator[Api]:
    yield from _open(services, settings)


def token_of(api: Api) -> str:
    token = api.client.headers["Authorization"].removeprefix("Bearer ")
    assert token.startswith("cairn_")
    return token


def basic(user: bytes | str, password: bytes | str) -> str:
    raw = (user.encode() if isinstance(user, str) else user) + b":"
    raw += password.encode() if isinstance(password, str) else password
    return "Basic " + base64.b64encode(raw).decode()


def call(api: Api, surface: str, header: str | bytes) -> httpx.Response:
    return api.client.get(SURFACES[surface], headers={"Authorization": header})


def assert_refused(response: httpx.Response, surface: str, shown: object) -> None:
    """A 401 drawn the way ``surface`` draws every error."""
    assert response.status_code == 401, (surface, shown, response.status_code, response.text)
    assert response.headers["cairn-error-code"] == "unauthenticated", (surface, shown)
    if surface == "api":
        assert error_code(response) == "unauthenticated"
        assert response.headers["www-authenticate"] == "Bearer"
    elif surface == "mlflow":
        assert response.json()["error_code"] == "UNAUTHENTICATED", (shown, response.text)
    else:
        assert oci_error(response) == "UNAUTHORIZED", (shown, response.text)
        scheme = "Basic" if surface == "oci-token" else "Bearer"
        assert response.headers["www-authenticate"].startswith(scheme + " ")


def test_a_cairn_token_is_taken_as_bearer_or_basic_password_on_every_surface(api: Api) -> None:
    token = token_of(api)
    for header in [
        f"Bearer {token}",
        f"bearer {token}",
        f"BEARER {token}",
        f"Bearer    {token}",
        f"Bearer\t{token}",
        f"  Bearer {token}  ",
        basic("me", token),
        basic("", token),
        basic("ünïcode user", token),
        basic("me", token).replace("Basic", "bAsIc"),
    ]:
        for surface in SURFACES:
            response = call(api, surface, header)
            assert response.status_code == 200, (surface, header, response.text)
    assert call(api, "api", basic("me", token)).json()["name"] == "admin"


def test_every_malformed_or_hostile_header_is_the_surfaces_own_401(api: Api) -> None:
    token = token_of(api)
    for header in [
        "",
        "Bearer",
        "Basic",
        "Bearer  ",
        f"Token {token}",
        f"Negotiate {token}",
        f"Bearer{token}",
        f"Bearer {token} {token}",
        f"Bearer {token[:20]} {token[20:]}",
        f"{token}",
        "Bearer nonsense",
        "Bearer " + "A" * (HEADER_MAX + 1),
        "Bearer " + token + "=" * HEADER_MAX,
        f"Bearer {token}é".encode(),
        b"Bearer \xff\xfe",
        b"Basic \xfc\xe9==",
        "Basic !!!",
        "Basic " + base64.b64encode(token.encode()).decode(),  # no colon
        basic("me", ""),
        basic("me", "not-a-token"),
        basic(b"\xff", token),  # not UTF-8
        basic("me", token) + " extra",
        basic("me", token)[:-2],  # cut: not base64 any more
        f"Bearer {token[:-1]}",
        "Bearer cairnoci_forged_1_AAAA",
    ]:
        for surface in SURFACES:
            assert_refused(call(api, surface, header), surface, header)


def test_each_token_is_good_only_where_it_was_made_for(api: Api) -> None:
    """A registry token from ``/v2/token`` opens ``/v2/`` and nothing else; the anonymous
    token stands for no one, who may do nothing here (anonymous reads are off)."""
    issued = api.client.get(SURFACES["oci-token"]).json()["token"]
    assert issued.startswith("cairnoci_")
    assert call(api, "oci", f"Bearer {issued}").status_code == 200
    for surface in ("api", "mlflow", "oci-token"):
        assert_refused(call(api, surface, f"Bearer {issued}"), surface, issued)
    for surface in SURFACES:
        assert_refused(call(api, surface, basic("me", issued)), surface, "basic registry token")
        assert_refused(call(api, surface, "Bearer anonymous"), surface, "anonymous")


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path, database_url)
    yield live
    live.stop()


LIST_MODELS = (
    "from mlflow import MlflowClient; print(len(MlflowClient().search_registered_models()))"
)


def test_the_mlflow_client_signs_in_with_a_user_name_and_the_token_as_password(
    server: LiveServer,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "CAIRN_"))}
    env |= {
        "MLFLOW_TRACKING_URI": server.url,
        "MLFLOW_TRACKING_USERNAME": "me",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    }
    for password, expected in [(server.token, "0"), ("not-a-token", "UNAUTHENTICATED")]:
        done = subprocess.run(
            [sys.executable, "-c", LIST_MODELS],
            env={**env, "MLFLOW_TRACKING_PASSWORD": password},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert expected in done.stdout + done.stderr, done.stderr[-2000:]
        assert (done.returncode == 0) == (expected == "0"), done.stderr[-2000:]
