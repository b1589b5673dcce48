"""A namespace, a model (its card, versions, chart and aliases) and an alias's history in the
browser; the model page narrow and dark; and a model whose card, description and tags were
written by an attacker."""

from __future__ import annotations

import hashlib

from playwright.sync_api import Page

from tests.browser.conftest import Site

CONTENT = b"weights drawn in the browser tests\n"
DIGEST = "sha256:" + hashlib.sha256(CONTENT).hexdigest()
CARD = """# Fraud scores

Scores card payments for fraud. Trained on **March** data; see [the runbook](https://example.org/runbook).

| metric | meaning |
|---|---|
| auc | area under the ROC curve |
"""


def a_model_with_versions(
    site: Site, model: str = "fraud", versions: int = 5, **fields: object
) -> None:
    """``risk/<model>`` with ``versions`` versions whose auc rises and loss falls."""
    if site.api("GET", "/api/v1/namespaces/risk").status_code == 404:
        made = site.api(
            "POST", "/api/v1/namespaces", json={"name": "risk", "description": "Risk team"}
        )
        assert made.status_code == 201, made.text
        put = site.api("PUT", f"/api/v1/namespaces/risk/blobs/{DIGEST}", content=CONTENT)
        assert put.status_code == 201, put.text
    body = {"name": model, "owner": "ml-risk", "card": CARD, "tags": {"team": "risk"}, **fields}
    created = site.api("POST", "/api/v1/models/risk", json=body)
    assert created.status_code == 201, created.text
    for n in range(1, versions + 1):
        registered = site.api(
            "POST",
            f"/api/v1/models/risk/{model}/versions",
            json={
                "manifest": [{"path": "w.bin", "size": len(CONTENT), "digest": DIGEST}],
                "metrics": {"auc": 0.7 + n / 50, "loss": 0.5 - n / 40},
            },
        )
        assert registered.status_code == 201, registered.text


def move_alias(site: Site, model: str, alias: str, number: int) -> None:
    moved = site.api(
        "PUT", f"/api/v1/models/risk/{model}/aliases/{alias}", json={"version": number}
    )
    assert moved.status_code == 200, moved.text


def horizontal_overflow(tab: Page) -> int:
    return int(tab.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def test_open_a_namespace_a_model_its_chart_and_an_alias_history(site: Site) -> None:
    a_model_with_versions(site)
    for number in (2, 3, 5):  # set, then moved twice
        move_alias(site, "fraud", "champion", number)
    tab, watched = site.page(site.server.token)

    tab.click("a[href='/namespaces/risk']")
    tab.wait_for_url("**/namespaces/risk")
    assert tab.locator("h1").inner_text() == "risk"
    row = tab.locator("tr", has=tab.locator("a[href='/models/risk/fraud']"))
    assert "ml-risk" in row.inner_text() and "@champion → v5" in row.inner_text()
    site.shot(tab, "namespace")

    tab.click("a[href='/models/risk/fraud']")
    tab.wait_for_url("**/models/risk/fraud")
    assert tab.locator("article.card h1").inner_text() == "Fraud scores"
    assert tab.locator("table.versions tbody tr").count() == 5
    chart = tab.locator("svg.chart")
    assert chart.is_visible()
    assert chart.locator("circle.dot").count() == 5
    assert chart.locator("circle.dot title").first.text_content() == "v1: 0.72"
    assert chart.locator("a.point").first.get_attribute("href") == "/models/risk/fraud/versions/1"
    site.shot(tab, "model")

    tab.select_option("#metric", "loss")
    tab.click("#chart ~ form button[type=submit]")
    tab.wait_for_url("**/models/risk/fraud?metric=loss*")
    assert tab.locator("#chart").inner_text() == "loss across these versions"
    assert tab.locator("svg.chart circle.dot title").last.text_content() == "v5: 0.375"
    site.shot(tab, "model-chart-of-loss")

    tab.click("ul.aliases a[href='/models/risk/fraud/aliases/champion']")
    tab.wait_for_url("**/aliases/champion")
    moves = tab.locator("ol.timeline li")
    assert moves.count() == 3
    assert "moved it from v3 to v5" in " ".join(moves.nth(0).inner_text().split())
    assert "moved it from v2 to v3" in " ".join(moves.nth(1).inner_text().split())
    assert "set it to v2" in " ".join(moves.nth(2).inner_text().split())
    assert "admin" in moves.nth(0).inner_text()
    assert moves.nth(0).locator("a").nth(1).get_attribute("href") == "/models/risk/fraud/versions/5"
    site.shot(tab, "alias-history")
    assert watched.dialogs == [] and watched.console_errors == []


def test_the_model_page_fits_360_px_and_reads_in_the_dark(site: Site) -> None:
    a_model_with_versions(site)
    move_alias(site, "fraud", "champion", 4)
    narrow, watched = site.page(site.server.token, width=360, height=780)
    narrow.goto(site.url + "/models/risk/fraud")
    assert narrow.locator("svg.chart").is_visible()
    assert horizontal_overflow(narrow) <= 0  # wide tables scroll inside their .table-wrap
    site.shot(narrow, "model-360px")

    dark, dark_watched = site.page(site.server.token, color_scheme="dark")
    dark.goto(site.url + "/models/risk/fraud")
    background = dark.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(22, 24, 27)"  # cairn.css's dark --bg
    site.shot(dark, "model-dark")
    assert watched.console_errors == [] and dark_watched.console_errors == []


def test_a_hostile_card_description_and_tags_run_nothing_and_show_as_text(site: Site) -> None:
    card = (
        "# Harmless\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1))\n\n"
        "<img src=x onerror=alert(1)>\n\n[fine](https://example.org/)\n"
    )
    description = '<img src=x onerror=alert("description")><b>bold?</b>'
    tags = {"team": "<script>alert('tag')</script>", "note": '"><svg onload=alert(3)>'}
    a_model_with_versions(site, "evil", 2, card=card, description=description, tags=tags)
    tab, watched = site.page(site.server.token)

    answer = tab.goto(site.url + "/models/risk/evil")
    assert answer is not None and answer.status == 200
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    main = tab.locator("main")
    assert main.locator("script, img, svg:not(.chart), iframe").count() == 0
    assert tab.locator("a[href^='javascript' i]").count() == 0
    assert tab.locator("p.lead").inner_text() == description  # shown as text
    card_text = tab.locator("article.card").inner_text()
    assert "<script>alert(1)</script>" in card_text and "<img src=x onerror=alert(1)>" in card_text
    assert "[click](javascript:alert(1))" in card_text  # text, not a link
    fine = tab.locator("article.card a", has_text="fine")
    assert fine.get_attribute("rel") == "noopener noreferrer nofollow"
    tag_text = tab.locator("dd.tags").inner_text()
    assert (
        "team=<script>alert('tag')</script>" in tag_text and '"><svg onload=alert(3)>' in tag_text
    )
    site.shot(tab, "model-with-hostile-card")

    namespace = tab.goto(site.url + "/namespaces/risk")
    assert namespace is not None and "content-security-policy" in namespace.headers
    assert tab.locator("main img").count() == 0
    assert description in tab.locator("main").inner_text()
    site.shot(tab, "namespace-with-hostile-description")
    assert watched.dialogs == []
    assert watched.console_errors == []
