"""The approvals inbox and the deployments page in-process (TestClient over the real app, both
databases): whose requests and deployments they show, how they page, and what they refuse."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from cairn.api.app import create_app
from cairn.api.pages.session import COOKIE
from cairn.services.container import Services
from cairn.services.sessions import csrf_token
from tests.conftest import bearer

API = "/api/v1"
CONTENT = b"weights for the governance pages\n"
DIGEST = "sha256:" + hashlib.sha256(CONTENT).hexdigest()
POLICY = {"states": {"production": {"rules": [], "approvals": 1}}}


@dataclass
class Site:
    client: TestClient  # the API with the admin's token; pages with a session of choice
    services: Services
    admin: str  # the admin's session

    def api(self, method: str, path: str, status: int, **kw: Any) -> Response:
        answer = self.client.request(method, API + path, **kw)
        assert answer.status_code == status, f"{method} {path}: {answer.text}"
        return answer

    def as_user(self, name: str, namespace: str, role: str) -> str:
        """Sign ``name`` (a new user holding ``role`` in ``namespace``) in; the session."""
        self.api("POST", "/principals", 201, json={"name": name, "kind": "user"})
        self.api("PUT", f"/principals/{name}/roles/{namespace}/{role}", 200)
        token = self.api("POST", "/tokens", 201, json={"principal": name, "name": "t"})
        return self.services.sessions.sign_in(token.json()["secret"], None).secret

    def get(self, path: str, session: str, status: int = 200) -> str:
        self.client.cookies.set(COOKIE, session)
        answer = self.client.get(path, follow_redirects=False)
        assert answer.status_code == status, f"{path}: {answer.status_code} {answer.text[:400]}"
        return answer.text

    def review(self, session: str, request_id: int, status: int, **fields: str) -> Response:
        form = {"csrf": csrf_token(session), **fields}
        self.client.cookies.set(COOKIE, session)
        answer = self.client.post(
            f"/approvals/{request_id}/review", data=form, follow_redirects=False
        )
        assert answer.status_code == status, answer.text[:400]
        return answer

    def governed(self, namespace: str, versions: int = 1) -> list[int]:
        """``namespace`` wanting one approval for production, and for each of ``versions``
        versions of model m an open request to promote it there; the requests' ids."""
        self.api("POST", "/namespaces", 201, json={"name": namespace})
        self.api("PUT", f"/namespaces/{namespace}/policy", 200, json=POLICY)
        self.api("PUT", f"/namespaces/{namespace}/blobs/{DIGEST}", 201, content=CONTENT)
        body = {"manifest": [{"path": "w.bin", "size": len(CONTENT), "digest": DIGEST}]}
        ids = []
        for number in range(1, versions + 1):
            self.api("POST", f"/models/{namespace}/m/versions", 201, json=body)
            path = f"/models/{namespace}/m/versions/{number}/promote"
            self.api("POST", path, 200, json={"target": "staging"})
            asked = self.api("POST", path, 200, json={"target": "production"})
            ids.append(int(asked.json()["request"]["id"]))
        return ids


@pytest.fixture
def site(services: Services, admin_token: str) -> Iterator[Site]:
    with TestClient(
        create_app(services), raise_server_exceptions=False, headers=bearer(admin_token)
    ) as client:
        yield Site(client, services, services.sessions.sign_in(admin_token, None).secret)


def _deploy(site: Site, namespace: str, target: str) -> None:
    body = {"target": target, "strategy": "canary", "weight": 5}
    site.api("POST", f"/models/{namespace}/m/versions/1/deployments", 201, json=body)


def test_a_viewer_sees_requests_and_deployments_only_where_she_reads(site: Site) -> None:
    site.governed("ours")
    site.governed("theirs")
    _deploy(site, "ours", "eu")
    _deploy(site, "theirs", "eu")
    rita = site.as_user("rita", "ours", "reader")
    inbox = site.get("/approvals", rita)
    assert 'href="/models/ours/m/versions/1"' in inbox
    assert "theirs" not in inbox
    deployed = site.get("/deployments", rita)
    assert "ours/m:1" in deployed and "theirs" not in deployed
    everything = site.get("/approvals", site.admin)
    assert "ours/m:1" in everything and "theirs/m:1" in everything
    assert "theirs/m:1" in site.get("/deployments?target=eu", site.admin)
    assert "ours/m:1" not in site.get("/deployments?target=us", site.admin)


def test_the_inbox_pages_newest_first_and_refuses_a_cursor_it_did_not_issue(
    site: Site,
) -> None:
    ids = site.governed("risk", versions=3)
    actor = site.services.sessions.actor(site.admin, None)
    seen, cursor = [], None
    while True:
        page = site.services.lifecycle.inbox(actor, "open", cursor, limit=2)
        seen.extend(e.request.id for e in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == sorted(ids, reverse=True)
    site.get("/approvals?cursor=not-ours", site.admin, 400)
    site.get("/approvals?status=pending", site.admin, 400)
    site.get("/deployments?cursor=not-ours", site.admin, 400)


def test_a_review_is_refused_without_the_sessions_token_twice_or_when_unknown(
    site: Site,
) -> None:
    [request] = site.governed("risk")
    ann = site.as_user("ann", "risk", "approver")
    inbox = site.get("/approvals", ann)
    assert f'action="/approvals/{request}/review"' in inbox
    answer = site.client.post(
        f"/approvals/{request}/review", data={"csrf": "0" * 64, "decision": "approve"}
    )  # with ann's session, which the last page set
    assert answer.status_code == 403
    site.review(ann, request, 400, decision="maybe")
    site.review(ann, 999_999, 404, decision="approve")
    done = site.review(ann, request, 303, decision="reject", comment="<i>not yet</i>")
    assert done.headers["location"] == f"/approvals?done={request}"
    site.review(ann, request, 409, decision="approve")  # closed: a rejection ends it
    rejected = site.get("/approvals?status=rejected", ann)
    assert "&lt;i&gt;not yet&lt;/i&gt;" in rejected and "<i>not yet" not in rejected
    assert f"/approvals/{request}/review" not in rejected
    [closed] = site.api("GET", "/namespaces/risk/approvals?status=rejected", 200).json()["items"]
    assert closed["approvals"][0]["approver"] == "ann"
    assert site.api("GET", "/models/risk/m/versions/1", 200).json()["state"] == "staging"


def test_the_requester_is_told_someone_else_must_review(site: Site) -> None:
    site.governed("risk")
    inbox = site.get("/approvals", site.admin)
    assert "someone else must review it" in inbox
    assert "/review" not in inbox
