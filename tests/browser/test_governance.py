"""The approvals inbox and the deployments page: an approver approves a promotion with a
comment; a reader sees no button and a reader's forged review is refused; HTML in a reason or
a comment stays text; deployments are shown by target."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import httpx

from tests.browser.conftest import Site

API = "/api/v1"
VERSION = f"{API}/models/risk/fraud/versions/1"
POLICY = {
    "states": {
        "staging": {"rules": [], "approvals": 0},
        "production": {
            "rules": [{"name": "good enough", "expr": "metrics.auc >= 0.9"}],
            "approvals": 1,
            "separation_of_duties": True,
        },
    },
}
REASON = "<b>ship it</b><script>alert('reason')</script>"
COMMENT = "<img src=x onerror=\"alert('comment')\"> looks good"


def _governed(site: Site) -> dict[str, Any]:
    """Namespace risk, whose policy wants one approval for production; fraud:1 in staging;
    and the admin's request to promote it to production (open: it needs that approval)."""
    assert site.api("POST", f"{API}/namespaces", json={"name": "risk"}).status_code == 201
    assert site.api("PUT", f"{API}/namespaces/risk/policy", json=POLICY).status_code == 200
    digest = "sha256:" + hashlib.sha256(b"weights").hexdigest()
    put = site.api("PUT", f"{API}/namespaces/risk/blobs/{digest}", content=b"weights")
    assert put.status_code in (200, 201), put.text
    body = {
        "manifest": {"files": [{"path": "w.bin", "digest": digest, "size": 7}]},
        "metrics": {"auc": 0.93},
    }
    made = site.api("POST", f"{API}/models/risk/fraud/versions", json=body)
    assert made.status_code == 201, made.text
    staged = site.api("POST", f"{VERSION}/promote", json={"target": "staging"})
    assert staged.status_code == 200 and staged.json()["applied"], staged.text
    asked = site.api("POST", f"{VERSION}/promote", json={"target": "production", "reason": REASON})
    assert asked.status_code == 200, asked.text
    request: dict[str, Any] = asked.json()["request"]
    assert request["status"] == "open"
    return request


def _state(site: Site) -> str:
    return str(site.api("GET", VERSION).json()["state"])


def _open_requests(site: Site) -> list[dict[str, Any]]:
    answer = site.api("GET", f"{API}/namespaces/risk/approvals")
    return list(answer.json()["items"])


def test_an_approver_approves_with_a_comment_and_the_version_is_promoted(site: Site) -> None:
    request = _governed(site)
    tab, watched = site.page(site.token_for("ann", "risk", "approver"))
    tab.goto(site.url + "/approvals")
    card = tab.locator(f"#request-{request['id']}")
    assert card.locator("h2 a").get_attribute("href") == "/models/risk/fraud/versions/1"
    assert REASON in card.locator(".reason").inner_text()  # the HTML is text
    policy = card.locator("table.policy").inner_text()
    assert "needs 1 approval from approvers, not the version's author or the requester" in policy
    assert re.search(r"rule “good enough” metrics\.auc >= 0\.9\s+passes", policy)
    assert re.search(r"needs 1 approval.*\s+fails — 0 of 1 approvals", policy)
    assert "namespace risk's policy, revision 1, set by admin" in card.inner_text()
    assert "0 of 1 needed" in card.inner_text()
    site.shot(tab, "approvals-inbox-approver")

    card.locator("textarea[name=comment]").fill(COMMENT)
    card.locator("button[value=approve]").click()
    tab.wait_for_url(f"**/approvals?done={request['id']}")
    assert f"request #{request['id']} is recorded" in tab.locator("[role=status]").inner_text()
    assert _state(site) == "production"
    assert _open_requests(site) == []

    tab.goto(site.url + "/approvals?status=completed")
    closed = tab.locator(f"#request-{request['id']}")
    assert COMMENT in closed.locator("q.comment").inner_text()
    assert "approved by ann" in closed.locator(".reviews").inner_text()
    assert closed.locator("form.review").count() == 0
    site.shot(tab, "approvals-completed")
    assert watched.dialogs == [] and watched.console_errors == []


def test_a_reader_sees_no_review_buttons_and_a_forged_review_is_refused(site: Site) -> None:
    request = _governed(site)
    tab, watched = site.page(site.token_for("rita", "risk", "reader"))
    tab.goto(site.url + "/approvals")
    card = tab.locator(f"#request-{request['id']}")
    assert REASON in card.locator(".reason").inner_text()
    assert tab.locator("form.review").count() == 0
    assert tab.get_by_role("button", name="Approve").count() == 0
    assert tab.get_by_role("button", name="Reject").count() == 0
    site.shot(tab, "approvals-inbox-reader")
    tab.set_viewport_size({"width": 360, "height": 800})
    assert tab.evaluate("document.documentElement.scrollWidth") <= 360  # nothing spills over
    site.shot(tab, "approvals-inbox-reader-360px")

    # The reader's own session and the CSRF token of a page she loaded: all she could hold.
    csrf = tab.locator("input[name=csrf]").first.get_attribute("value")
    assert csrf
    session = next(c for c in tab.context.cookies() if c["name"] == "cairn_session")
    forged = httpx.post(
        f"{site.url}/approvals/{request['id']}/review",
        data={"csrf": csrf, "decision": "approve", "comment": "forged"},
        cookies={"cairn_session": session["value"]},
    )
    assert forged.status_code == 403, forged.text
    assert "rita may not approve" in forged.text
    [still] = _open_requests(site)
    assert still["id"] == request["id"] and still["approvals"] == []
    assert _state(site) == "staging"
    assert watched.dialogs == [] and watched.console_errors == []


def test_deployments_are_shown_by_target(site: Site) -> None:
    _governed(site)
    canary = {"target": "eu-west", "strategy": "canary", "weight": 10, "outcome": "started"}
    full = {
        "target": "us-east",
        "strategy": "full",
        "weight": 100,
        "outcome": "succeeded",
        "load_time_ms": 1250,
    }
    for deployment in (canary, full):
        made = site.api("POST", f"{VERSION}/deployments", json=deployment)
        assert made.status_code == 201, made.text
    tab, watched = site.page(site.token_for("dora", "risk", "reader"))
    tab.goto(site.url + "/deployments")
    targets = tab.locator("section.target h2").all_inner_texts()
    assert targets == ["us-east", "eu-west"]  # the most recently used first
    eu = tab.locator("section.target", has_text="eu-west").locator("tbody tr")
    cells = eu.locator("td").all_inner_texts()
    assert cells[:4] == ["risk/fraud:1", "canary", "10 %", "started"]
    assert cells[6] == "admin"
    us = tab.locator("section.target", has_text="us-east").locator("tbody td").all_inner_texts()
    assert us[1:5] == ["full", "100 %", "succeeded", "1250 ms"]
    assert eu.locator("a").get_attribute("href") == "/models/risk/fraud/versions/1"
    site.shot(tab, "deployments-by-target")
    tab.set_viewport_size({"width": 360, "height": 800})
    assert tab.evaluate("document.documentElement.scrollWidth") <= 360
    site.shot(tab, "deployments-by-target-360px")

    tab.goto(site.url + "/deployments?target=eu-west")
    assert tab.locator("section.target h2").all_inner_texts() == ["eu-west"]
    site.shot(tab, "deployments-one-target")
    assert watched.dialogs == [] and watched.console_errors == []
