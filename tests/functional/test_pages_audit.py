"""The audit, search and API docs pages in-process (TestClient over the real app, both
databases): who reads which entries, what an entry's page embeds for the browser to verify
(checked here with the domain's own functions), a bad filter's page, and the docs page."""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from cairn.api.app import create_app
from cairn.api.pages.session import COOKIE
from cairn.domain.audit import checkpoint_signed, entry_leaf_hash
from cairn.domain.merkle import verify_inclusion
from cairn.services.container import Services
from tests.conftest import bearer

API = "/api/v1"
CONTENT = b"weights for the audit pages\n"
DIGEST = "sha256:" + hashlib.sha256(CONTENT).hexdigest()
HOSTILE = "</script><script>alert(1)</script>&<!--"


@dataclass
class Site:
    client: TestClient
    services: Services
    admin: str  # the admin's session

    def api(self, method: str, path: str, status: int, **kw: Any) -> Response:
        answer = self.client.request(method, API + path, **kw)
        assert answer.status_code == status, f"{method} {path}: {answer.text}"
        return answer

    def as_reader(self, name: str, namespace: str) -> str:
        self.api("POST", "/principals", 201, json={"name": name, "kind": "user"})
        self.api("PUT", f"/principals/{name}/roles/{namespace}/reader", 200)
        token = self.api("POST", "/tokens", 201, json={"principal": name, "name": "t"})
        return self.services.sessions.sign_in(token.json()["secret"], None).secret

    def get(self, path: str, session: str | None = None, status: int = 200) -> str:
        self.client.cookies.clear()
        if session:
            self.client.cookies.set(COOKIE, session)
        answer = self.client.get(path, follow_redirects=False)
        assert answer.status_code == status, f"{path}: {answer.status_code} {answer.text[:400]}"
        return answer.text

    def registered(self, namespace: str, model: str = "m", description: str = "") -> None:
        self.api("POST", "/namespaces", 201, json={"name": namespace, "description": description})
        self.api("PUT", f"/namespaces/{namespace}/blobs/{DIGEST}", 201, content=CONTENT)
        body = {"manifest": [{"path": "w.bin", "size": len(CONTENT), "digest": DIGEST}]}
        self.api("POST", f"/models/{namespace}/{model}/versions", 201, json=body)

    def index_of(self, action: str, subject: str) -> int:
        entries = self.api("GET", "/audit/entries?limit=1000", 200).json()["items"]
        return next(e["index"] for e in entries if (e["action"], e["subject"]) == (action, subject))


@pytest.fixture
def site(services: Services, admin_token: str) -> Iterator[Site]:
    with TestClient(
        create_app(services), raise_server_exceptions=False, headers=bearer(admin_token)
    ) as client:
        yield Site(client, services, services.sessions.sign_in(admin_token, None).secret)


def embedded_proof(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="proof">(.*?)</script>', page, re.S)
    assert found, "the page embeds no proof"
    return dict(json.loads(found.group(1)))


def test_an_entrys_page_embeds_a_proof_that_verifies_and_cannot_break_out(site: Site) -> None:
    site.registered("risk", description=HOSTILE)
    index = site.index_of("namespace.create", "risk")
    page = site.get(f"/audit/entries/{index}", site.admin)
    block = page.split('id="proof">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and ">" not in block and "&" not in block  # \u003c and friends
    proof = embedded_proof(page)
    assert proof["document"]["payload"]["description"] == HOSTILE
    assert html.escape(HOSTILE) in page  # the payload as text, escaped
    assert "<script>alert(1)" not in page

    # What the browser checks, checked here with the domain's functions.
    leaf = entry_leaf_hash(proof["document"])
    assert leaf == proof["leaf_hash"]
    checkpoint = proof["checkpoint"]
    path = [bytes.fromhex(h) for h in proof["path"]]
    root = bytes.fromhex(checkpoint["root"])
    assert verify_inclusion(bytes.fromhex(leaf), index, checkpoint["size"], path, root)
    assert checkpoint_signed(
        checkpoint["public_key"], checkpoint["size"], checkpoint["root"], checkpoint["signature"]
    )


def test_a_reader_reads_the_entries_of_her_namespaces_only(site: Site) -> None:
    site.registered("risk")
    site.registered("ops")
    rita = site.as_reader("rita", "risk")
    ours = site.index_of("version.register", "risk/m:1")
    theirs = site.index_of("version.register", "ops/m:1")
    assert "risk/m:1" in site.get(f"/audit/entries/{ours}", rita)
    site.get(f"/audit/entries/{theirs}", rita, status=403)
    principal = site.index_of("principal.create", "principal/rita")
    site.get(f"/audit/entries/{principal}", rita, status=403)  # above namespaces: admins only
    site.get("/audit/entries/999999", site.admin, status=404)
    site.get("/audit/entries/-1", site.admin, status=400)

    whole = site.get("/audit", rita)
    assert "Choose a namespace" in whole and "ops/m:1" not in whole
    slice_ = site.get("/audit?namespace=risk&action=version.register", rita)
    assert "risk/m:1" in slice_ and "model.create" not in slice_
    site.get("/audit?namespace=ops", rita, status=403)
    admin_view = site.get("/audit?subject=ops/", site.admin)
    assert "ops/m:1" in admin_view and "risk/m:1" not in admin_view


def test_the_log_pages_by_leaf_index(site: Site) -> None:
    for n in range(1, 20):
        site.registered(f"ns{n}")
    first = site.get("/audit", site.admin)
    shown = [int(i) for i in re.findall(r'href="/audit/entries/(\d+)"', first)]
    assert shown == list(range(50))
    assert 'href="/audit?after=49"' in first
    second = site.get("/audit?after=49", site.admin)
    assert re.findall(r'href="/audit/entries/(\d+)"', second)[0] == "50"


def test_a_checkpoint_seen_before_is_checked_against_the_latest(site: Site) -> None:
    site.registered("risk")
    seen = site.api("GET", "/audit/checkpoint", 200).json()
    site.registered("ops")
    query = f"/audit?verify=1&seen_size={seen['size']}&seen_root={seen['root']}"
    assert 'data-verified="yes"' in site.get(query, site.admin)
    forged = f"/audit?verify=1&seen_size={seen['size']}&seen_root={'0' * 64}"
    assert 'data-verified="no"' in site.get(forged, site.admin)
    nonsense = "/audit?verify=1&seen_size=many&seen_root=xyz"
    assert 'data-verified="no"' in site.get(nonsense, site.admin)


def test_a_bad_filter_is_a_400_page_that_says_where(site: Site) -> None:
    site.registered("risk")
    page = site.get("/search?q=state%20%3D%20'live'", site.admin, status=400)
    assert "does not parse" in page and "one of &#39;registered&#39;" in page
    assert "<mark>" in page and 'aria-invalid="true"' in page
    models = site.get("/search?kind=models&q=metrics.auc%20%3E%201", site.admin, status=400)
    assert "models cannot be filtered on metrics.auc" in models
    found = site.get("/search?q=namespace%20%3D%20'risk'", site.admin)
    assert 'href="/models/risk/m/versions/1"' in found
    site.get("/search?kind=runs", site.admin, status=400)


def test_the_docs_page_is_drawn_once_from_the_document_and_is_public(site: Site) -> None:
    page = site.get("/api/v1/docs")  # nobody signed in
    assert 'id="register_version"' in page and 'href="#register_version"' in page
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == ['<script src="/static/cairn.js" defer>']
    app = site.client.app
    drawn = app.state.api_docs_html  # type: ignore[attr-defined]
    assert "admin" in site.get("/api/v1/docs", site.admin)  # the frame is the viewer's
    assert app.state.api_docs_html is drawn  # type: ignore[attr-defined]
    document = site.client.get("/api/v1/openapi.json").json()
    operations = sum(len(item) for item in document["paths"].values())
    assert page.count('<article class="panel operation"') == operations
