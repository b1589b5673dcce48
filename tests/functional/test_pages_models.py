"""The namespace, model and alias pages in-process (TestClient over the real app, both
databases): what they show, how they page, and what they refuse."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from cairn.api.app import create_app
from cairn.api.pages.routes.models import VERSIONS_SHOWN
from cairn.api.pages.session import COOKIE
from cairn.services.container import Services
from tests.conftest import bearer

API = "/api/v1"
CONTENT = b"weights for the pages\n"
DIGEST = "sha256:" + hashlib.sha256(CONTENT).hexdigest()


@dataclass
class Pages:
    client: TestClient  # the API with the admin's token, the pages with the admin's session
    services: Services

    def api(self, method: str, path: str, status: int, **kw: Any) -> Response:
        answer = self.client.request(method, API + path, **kw)
        assert answer.status_code == status, f"{method} {path}: {answer.text}"
        return answer

    def get(self, path: str, status: int = 200) -> str:
        answer = self.client.get(path, follow_redirects=False)
        assert answer.status_code == status, f"{path}: {answer.status_code} {answer.text[:400]}"
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        return answer.text

    def register(self, namespace: str, model: str, metrics: dict[str, float]) -> int:
        body = {
            "manifest": [{"path": "w.bin", "size": len(CONTENT), "digest": DIGEST}],
            "metrics": metrics,
            "description": f"with {metrics}",
        }
        made = self.api("POST", f"/models/{namespace}/{model}/versions", 201, json=body)
        return int(made.json()["number"])


@pytest.fixture
def pages(services: Services, admin_token: str) -> Iterator[Pages]:
    opened = services.sessions.sign_in(admin_token, None)
    with TestClient(
        create_app(services), raise_server_exceptions=False, headers=bearer(admin_token)
    ) as client:
        client.cookies.set(COOKIE, opened.secret)
        made = Pages(client, services)
        made.api("PUT", f"/namespaces/default/blobs/{DIGEST}", 201, content=CONTENT)
        yield made


def hrefs(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]*)"', html)]


def test_a_namespace_lists_its_models_and_its_policy(pages: Pages) -> None:
    pages.api("POST", "/models/default", 201, json={
        "name": "fraud", "description": "Card <b>fraud</b>", "owner": "ml-risk"})  # fmt: skip
    pages.api("POST", "/models/default", 201, json={"name": "churn"})
    pages.register("default", "fraud", {"auc": 0.9})
    pages.api("PUT", "/models/default/fraud/aliases/champion", 200, json={"version": 1})
    html = pages.get("/namespaces/default")
    assert "Card &lt;b&gt;fraud&lt;/b&gt;" in html and "<b>fraud" not in html
    assert "ml-risk" in html
    links = hrefs(html)
    for expected in (
        "/models/default/fraud",
        "/models/default/churn",
        "/models/default/fraud/versions/1",
        "/models/default/fraud/aliases/champion",
    ):
        assert expected in links
    assert "The built-in default policy" in html
    assert "a clean scan" in html and "rule “came through staging”" in html
    assert "@production → production" in html


def test_a_model_page_shows_one_page_of_versions_with_a_chart_and_pages_on(pages: Pages) -> None:
    card = "# Fraud\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1)) [doc](/x)"
    pages.api("POST", "/models/default", 201, json={
        "name": "fraud", "card": card, "tags": {"team": "<i>risk</i>"}})  # fmt: skip
    total = VERSIONS_SHOWN + 2
    for n in range(1, total + 1):
        pages.register("default", "fraud", {"auc": n / 100, "loss": 1 - n / 100})
    pages.api("PUT", "/models/default/fraud/aliases/champion", 200, json={"version": 3})

    html = pages.get("/models/default/fraud")
    assert "<h1>Fraud</h1>" in html  # the card, drawn
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert not [h for h in hrefs(html) if "javascript" in h.lower()]
    assert "team=&lt;i&gt;risk&lt;/i&gt;" in html
    numbers = re.findall(r'<td class="num"><a href="/models/default/fraud/versions/(\d+)">', html)
    assert numbers == [str(n) for n in range(total, total - VERSIONS_SHOWN, -1)]  # newest first
    assert html.count('<circle class="dot"') == VERSIONS_SHOWN
    assert "auc across these versions" in html
    assert '<option value="loss">loss</option>' in html
    assert "/compare" in html and f"default/fraud:{total}" in html

    older = next(h for h in hrefs(html) if "cursor=" in h)
    html = pages.get(older.split("#")[0])
    numbers = re.findall(r'<td class="num"><a href="/models/default/fraud/versions/(\d+)">', html)
    assert numbers == [str(n) for n in range(total - VERSIONS_SHOWN, 0, -1)]
    assert "/aliases/champion" in html  # version 3's alias, in its row
    assert "Newest versions" in html

    charted = pages.get("/models/default/fraud?metric=loss")
    assert "loss across these versions" in charted
    assert '<option value="loss" selected>' in charted
    fallback = pages.get("/models/default/fraud?metric=%3Cscript%3E")
    assert "auc across these versions" in fallback and "<script>" not in fallback


def test_an_alias_page_draws_its_moves_newest_first(pages: Pages) -> None:
    for _ in range(3):
        pages.register("default", "fraud", {"auc": 0.5})
    for number in (1, 2, 3):
        pages.api("PUT", "/models/default/fraud/aliases/champion", 200, json={"version": number})
    html = pages.get("/models/default/fraud/aliases/champion")
    assert re.search(r"Names <a href=\"/models/default/fraud/versions/3\">version 3</a> now", html)
    moves = re.findall(r"<li>.*?</li>", html, re.S)
    assert len(moves) == 3
    assert 'from <a href="/models/default/fraud/versions/2">v2</a> to' in moves[0]
    assert "set it to" in moves[-1] and "admin" in moves[-1]
    pages.api("DELETE", "/models/default/fraud/aliases/champion", 204)
    html = pages.get("/models/default/fraud/aliases/champion")
    assert "Names no version now" in html and "removed it from" in html


def test_what_is_not_there_or_not_well_formed_is_an_error_page(pages: Pages) -> None:
    pages.register("default", "fraud", {"auc": 0.5})
    for path, status, code in [
        ("/namespaces/nope", 404, "namespace_not_found"),
        ("/models/default/nope", 404, "model_not_found"),
        ("/models/default/fraud/aliases/never", 404, "alias_not_found"),
        ("/models/default/fraud?cursor=garbage", 400, "invalid_cursor"),
        ("/models/default/-bad-", 400, "invalid_name"),
        ("/namespaces/default?cursor=" + "x" * 300, 400, "invalid_input"),
    ]:
        html = pages.get(path, status)
        assert f"<code>{code}</code>" in html, path


def test_a_reader_of_another_namespace_sees_nothing_of_this_one(pages: Pages) -> None:
    pages.api("POST", "/namespaces", 201, json={"name": "other"})
    pages.register("default", "fraud", {"auc": 0.5})
    pages.api("POST", "/principals", 201, json={"name": "olga", "kind": "user"})
    pages.api("PUT", "/principals/olga/roles/other/reader", 200)
    secret = pages.api("POST", "/tokens", 201, json={"principal": "olga", "name": "t"}).json()
    opened = pages.services.sessions.sign_in(secret["secret"], None)
    pages.client.cookies.set(COOKIE, opened.secret)
    for path in ("/namespaces/default", "/models/default/fraud"):
        html = pages.get(path, 403)
        assert "<code>permission_denied</code>" in html
        assert "/models/default/fraud" not in hrefs(html)
    assert "Models" in pages.get("/namespaces/other")


def test_without_a_session_a_page_sends_the_browser_to_sign_in(pages: Pages) -> None:
    pages.client.cookies.clear()
    answer = pages.client.get("/models/default/fraud?metric=auc", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=%2Fmodels%2Fdefault%2Ffraud%3Fmetric%3Dauc"


def test_a_model_and_an_alias_are_shown_as_spelled_and_found_by_any_spelling(
    pages: Pages,
) -> None:
    pages.api("POST", "/models/default", 201, json={"name": "Fraud_Model"})
    pages.register("default", "fraud-model", {"auc": 0.9})
    pages.api("PUT", "/models/default/FRAUD_MODEL/aliases/Champion", 200, json={"version": 1})
    for spelling in ("Fraud_Model", "fraud-model"):
        html = pages.get(f"/models/default/{spelling}")
        assert "Fraud_Model" in html and "Champion" in html
    assert "Champion" in pages.get("/models/default/fraud_model/aliases/champion")
