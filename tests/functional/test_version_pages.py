"""The version and compare pages in-process (TestClient over the app), on SQLite and
PostgreSQL: what they show, the files read a page at a time, escaping, and refusals."""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cairn.api.app import create_app
from cairn.services.container import Services
from tests.conftest import bearer

API = "/api/v1"
HOSTILE = '<img src=x onerror="alert(1)">'


def digest_of(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


class Site:
    def __init__(self, client: TestClient, services: Services, token: str) -> None:
        self.client, self.services, self.token = client, services, token

    def api(self, method: str, path: str, status: int, **kw: Any) -> Any:
        answer = self.client.request(method, API + path, headers=bearer(self.token), **kw)
        assert answer.status_code == status, answer.text
        return answer.json() if answer.content else None

    def register(self, namespace: str, model: str, files: dict[str, bytes], **meta: Any) -> Any:
        for content in set(files.values()):
            self.client.put(
                f"{API}/namespaces/{namespace}/blobs/{digest_of(content)}",
                content=content,
                headers=bearer(self.token),
            )
        manifest = {
            "files": [{"path": p, "size": len(c), "digest": digest_of(c)} for p, c in files.items()]
        }
        return self.api(
            "POST",
            f"/models/{namespace}/{model}/versions",
            201,
            json={"manifest": manifest, **meta},
        )

    def sign_in_as(self, token: str) -> None:
        opened = self.services.sessions.sign_in(token, None)
        self.client.cookies.set("cairn_session", opened.secret)

    def html(self, path: str, status: int = 200) -> str:
        answer = self.client.get(path, follow_redirects=False)
        assert answer.status_code == status, answer.text
        return answer.text


@pytest.fixture
def site(services: Services, admin_token: str) -> Iterator[Site]:
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        made = Site(client, services, admin_token)
        made.api("POST", "/namespaces", 201, json={"name": "risk"})
        made.sign_in_as(admin_token)
        yield made


FIRST = {
    "description": "baseline " + HOSTILE,
    "tags": {"team": HOSTILE},
    "metrics": {"auc": 0.9, "loss": 0.3},
    "params": {"lr": "0.1", "note": HOSTILE},
    "provenance": {
        "code": {"repository": "git@example.com:risk/fraud", "commit": "abcdef1"},
        "datasets": [{"uri": "s3://data/train", "digest": digest_of(b"train"), "role": "train"}],
        "run": {"id": "run-7", "experiment": "fraud"},
        "environment": {"python": "3.12.1", "packages": {"numpy": "2.0.0"}},
    },
    "schema": {"inputs": [{"name": "amount", "type": "float32", "shape": [-1, 1]}]},
}


def test_a_version_page_shows_what_the_registry_knows(site: Site) -> None:
    site.register("risk", "fraud", {"model.bin": b"one", "config.json": b"{}"}, **FIRST)
    second = {
        "metrics": {"auc": 0.95},
        "params": {"lr": "0.2"},
        "provenance": {"parents": [{"ref": "risk/fraud:1"}]},
    }
    registered = site.register("risk", "fraud", {"model.bin": b"two"}, **second)
    site.api("POST", "/models/risk/fraud/versions/2/promote", 200, json={"target": "staging"})
    site.api(
        "POST",
        "/models/risk/fraud/versions/2/deployments",
        201,
        json={"target": "eu-west", "strategy": "canary", "weight": 10, "outcome": "succeeded"},
    )

    html = site.html("/models/risk/fraud/versions/1")
    assert "risk/fraud:1" in html and "git@example.com:risk/fraud" in html
    assert "s3://data/train" in html and "run-7" in html and "numpy==2.0.0" in html
    assert "amount" in html and "float32" in html and "[-1, 1]" in html
    assert HOSTILE not in html and "&lt;img src=x onerror=" in html  # text, never markup
    assert 'data-copy="' + digest_of_manifest(site, 1) + '"' in html

    latest = site.html("/models/risk/fraud/versions/latest")
    assert registered["manifest_digest"] in latest
    assert 'href="/models/risk/fraud/versions/1"' in latest  # the parent, linked
    assert "eu-west" in latest and "canary" in latest and "succeeded" in latest
    assert "version.promote" in latest and "staging" in latest
    assert re.search(r'href="/audit/entries/\d+"', latest)


def digest_of_manifest(site: Site, number: int) -> str:
    found = site.api("GET", f"/models/risk/fraud/versions/{number}?files=false", 200)
    return str(found["manifest_digest"])


class _Exploit:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, ("echo pwned",))


def test_a_flagged_version_shows_its_findings_and_withholds_its_files(site: Site) -> None:
    evil = pickle.dumps(_Exploit(), protocol=2)
    site.register("risk", "fraud", {"helper.pkl": evil, "weights.bin": b"w"})
    html = site.html("/models/risk/fraud/versions/1")
    assert "flagged" in html and "helper.pkl" in html and "dangerous_global" in html
    assert "The file list is withheld" in html and "is blocked from pull" in html
    assert digest_of(evil) not in html  # not a way around the pull gate
    site.register("risk", "fraud", {"weights.bin": b"w"})
    compared = site.html("/compare?a=risk/fraud:1&b=risk/fraud:2")
    assert "The file lists are withheld" in compared and digest_of(evil) not in compared


def test_a_versions_audit_entries_are_its_own(site: Site) -> None:
    for n in range(1, 13):
        site.register("risk", "fraud", {"model.bin": str(n).encode()})
    site.api("PUT", "/models/risk/fraud/versions/12/tags/team", 204, json={"value": "x"})
    html = site.html("/models/risk/fraud/versions/1")
    audit = html.split('id="audit-h"')[1]
    assert audit.count("/audit/entries/") == 1  # its registration; not version 12's tag
    assert "version.register" in audit and "version.tag" not in audit


def test_files_are_read_a_page_at_a_time(site: Site) -> None:
    files = {f"shard-{i:04d}.bin": b"same" for i in range(130)}
    site.register("risk", "big", files)
    first = site.html("/models/risk/big/versions/1")
    assert "shard-0000.bin" in first and "shard-0099.bin" in first
    assert "shard-0100.bin" not in first
    cursor = re.search(r'rel="next" href="/models/risk/big/versions/1\?files=([^"]+)"', first)
    assert cursor is not None
    second = site.html(f"/models/risk/big/versions/1?files={cursor.group(1)}")
    assert "shard-0100.bin" in second and "shard-0129.bin" in second
    assert "shard-0099.bin" not in second and 'rel="next"' not in second


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/models/risk/fraud/versions/0", 400, "a version selector is a number from 1"),
        ("/models/risk/fraud/versions/9", 404, "no version risk/fraud:9"),
        ("/models/risk/fraud/versions/@nope", 404, "no alias @nope"),
        ("/models/risk/fraud/versions/1?files=garbage", 400, "cursor"),
    ],
)
def test_a_bad_version_address_is_an_error_page(
    site: Site, path: str, status: int, text: str
) -> None:
    site.register("risk", "fraud", {"model.bin": b"one"})
    assert text in site.html(path, status)


def test_compare_shows_two_versions_side_by_side(site: Site) -> None:
    site.register("risk", "fraud", {"model.bin": b"one", "a.txt": b"a", "gone.txt": b"g"}, **FIRST)
    site.register(
        "risk",
        "fraud",
        {"model.bin": b"two", "a.txt": b"a", "new.txt": b"n"},
        metrics={"auc": 0.95, "f1": 0.5},
        params={"lr": "0.1", "note": "plain"},
        schema={"inputs": [{"name": "amount", "type": "float64"}]},
    )
    html = site.html("/compare?a=risk/fraud:1&b=risk/fraud:latest")
    row = r'<tr( class="changed")?><(?:th scope="row"|td class="mono")>([^<]+)<'
    highlighted = {m.group(2): bool(m.group(1)) for m in re.finditer(row, html)}
    assert highlighted == {
        "auc": True,  # changed
        "f1": True,  # only in B
        "loss": True,  # only in A
        "lr": False,  # the same on both sides
        "note": True,
        "input amount": True,
        "a.txt": False,
        "gone.txt": True,
        "model.bin": True,
        "new.txt": True,
    }
    assert "higher by 0.05" in html and "only in A" in html and "only in B" in html
    assert "float32 [-1, 1]" in html and "float64" in html
    assert HOSTILE not in html


def test_compare_windows_files_in_path_order(site: Site) -> None:
    # A's files interleave with B's: every window must pair a path with its twin.
    site.register("risk", "big", {f"f-{i:04d}": b"x" for i in range(0, 500, 2)})
    site.register("risk", "big", {f"f-{i:04d}": b"x" for i in range(0, 500)})
    seen: dict[str, str] = {}
    path = "/compare?a=risk/big:1&b=risk/big:2"
    for _ in range(10):
        html = site.html(path)
        for name, note in re.findall(
            r'<td class="mono">(f-\d+)</td>.*?<td>([a-zA-Z ]+)</td></tr>', html, re.S
        ):
            assert name not in seen
            seen[name] = note
        following = re.search(r'rel="next" href="([^"]+)"', html)
        if following is None:
            break
        path = following.group(1).replace("&amp;", "&")
    assert len(seen) == 500
    assert {seen[f"f-{i:04d}"] for i in range(0, 500, 2)} == {"same"}
    assert {seen[f"f-{i:04d}"] for i in range(1, 500, 2)} == {"only in B"}


@pytest.mark.parametrize(
    ("query", "status", "text"),
    [
        ("a=risk/fraud:1", 400, "name two versions to compare"),
        ("a=risk/fraud:1&b=risk/fraud:x", 400, "a version selector is a number"),
        ("a=risk/fraud:1&b=risk/fraud:7", 404, "no version risk/fraud:7"),
        ("a=a/b/c:1&b=risk/fraud:1", 400, "at most one"),
    ],
)
def test_compare_refuses_bad_references(site: Site, query: str, status: int, text: str) -> None:
    site.register("risk", "fraud", {"model.bin": b"one"})
    assert text in site.html(f"/compare?{query}", status)
    assert "<form" in site.html("/compare")  # no references: the form alone


def test_only_readers_of_the_namespace_see_its_versions(site: Site) -> None:
    site.register("risk", "fraud", {"model.bin": b"secret weights"}, description="confidential")
    site.api("POST", "/namespaces", 201, json={"name": "other"})
    site.api("POST", "/principals", 201, json={"name": "otto", "kind": "user"})
    site.api("PUT", "/principals/otto/roles/other/reader", 200)
    token = site.api("POST", "/tokens", 201, json={"principal": "otto", "name": "ui"})["secret"]
    site.sign_in_as(token)
    for path in ("/models/risk/fraud/versions/1", "/compare?a=risk/fraud:1&b=risk/fraud:1"):
        refused = site.html(path, 403)
        assert "confidential" not in refused and "model.bin" not in refused
    site.client.cookies.clear()
    answer = site.client.get("/models/risk/fraud/versions/1", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in?next=")


def test_a_versions_approvals_and_policy_decisions_are_shown(site: Site) -> None:
    policy = {
        "states": {
            "staging": {"rules": [], "approvals": 1},
            "production": {"rules": [{"name": "good", "expr": "metrics.auc >= 0.99"}]},
        }
    }
    site.api("PUT", "/namespaces/risk/policy", 200, json=policy)
    site.register("risk", "fraud", {"model.bin": b"one"}, metrics={"auc": 0.9})
    asked = site.api(
        "POST",
        "/models/risk/fraud/versions/1/promote",
        200,
        json={"target": "staging", "reason": "ready " + HOSTILE},
    )
    site.api("POST", "/principals", 201, json={"name": "vera", "kind": "user"})
    site.api("PUT", "/principals/vera/roles/risk/approver", 200)
    vera = site.api("POST", "/tokens", 201, json={"principal": "vera", "name": "t"})["secret"]
    request_id = asked["request"]["id"]
    reviewed = site.client.post(
        f"{API}/approvals/{request_id}/approve", json={"comment": HOSTILE}, headers=bearer(vera)
    )
    assert reviewed.status_code == 200, reviewed.text
    site.api("POST", "/models/risk/fraud/versions/1/promote", 409, json={"target": "production"})

    html = site.html("/models/risk/fraud/versions/1")
    approvals = html.split('id="approvals-h"')[1].split("</section>")[0]
    assert f'id="request-{request_id}"' in approvals and "completed" in approvals
    assert "vera" in approvals and "approved" in approvals
    assert HOSTILE not in html and "ready &lt;img" in approvals
    decisions = html.split('id="decisions-h"')[1].split("</section>")[0]
    assert decisions.count("<tr>") == 4  # header, asked, allowed on approval, denied
    assert "denied" in decisions and "needs_approval" in decisions and "allowed" in decisions
    assert '<li class="bad">rule good: metrics.auc &gt;= 0.99 is false</li>' in decisions
    assert '<li class="bad">approvals: 0 of 1 approvals' in decisions  # why it was asked


def test_a_version_page_shows_its_own_card_sanitised(site: Site) -> None:
    card = b"# Fraud v1\n\nTrained on March. <script>alert(1)</script>\n"
    site.register("risk", "carded", {"model.bin": b"one", "MODEL_CARD.md": card})
    site.register("risk", "carded", {"model.bin": b"two", "README.md": b"# Fraud v2\n"})
    site.register("risk", "carded", {"model.bin": b"three"})

    first = site.html("/models/risk/carded/versions/1")
    assert "<h1>Fraud v1</h1>" in first and "Trained on March." in first
    assert "<script>alert(1)</script>" not in first
    assert "<h1>Fraud v2</h1>" in site.html("/models/risk/carded/versions/2")
    assert "This version has no card" in site.html("/models/risk/carded/versions/3")


def test_a_waived_finding_is_shown_on_the_version_page(site: Site) -> None:
    site.register("risk", "fraud", {"helper.pkl": pickle.dumps(_Exploit(), protocol=2)})
    site.api("POST", "/principals", 201, json={"name": "carol"})
    site.api("PUT", "/principals/carol/roles/risk", 200, json={"role": "approver"})
    carol = site.api("POST", "/tokens", 201, json={"name": "t", "principal": "carol"})["secret"]
    scans = site.api("GET", "/models/risk/fraud/versions/1/validations", 200)["items"]
    (finding,) = [f for f in scans[-1]["details"]["findings"] if f["severity"] == "blocking"]
    waived = site.client.post(
        f"{API}/models/risk/fraud/versions/1/scan/waivers",
        json={"finding": finding["id"], "reason": "reviewed <b>by hand</b>"},
        headers=bearer(carol),
    )
    assert waived.status_code == 201, waived.text
    assert waived.json()["status"] == "clean"
    html = site.html("/models/risk/fraud/versions/1")
    assert "Waived</strong> by carol" in html and finding["id"] in html
    assert "reviewed &lt;b&gt;by hand&lt;/b&gt;" in html
