"""A version's page and two versions compared, in Chromium: what they show, the files a page
at a time, a narrow screen, and user-written HTML shown as text."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Site

HOSTILE = '<img src=x onerror="alert(document.cookie)">'


def digest_of(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def register(site: Site, model: str, files: dict[str, bytes], **meta: Any) -> dict[str, Any]:
    for content in set(files.values()):
        put = site.api(
            "PUT", f"/api/v1/namespaces/risk/blobs/{digest_of(content)}", content=content
        )
        assert put.status_code in (200, 201), put.text
    manifest = [{"path": p, "size": len(c), "digest": digest_of(c)} for p, c in files.items()]
    made = site.api(
        "POST",
        f"/api/v1/models/risk/{model}/versions",
        json={"manifest": {"files": manifest}, **meta},
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def two_versions(site: Site) -> tuple[dict[str, Any], dict[str, Any]]:
    assert site.api("POST", "/api/v1/namespaces", json={"name": "risk"}).status_code == 201
    first = register(
        site,
        "fraud",
        {"model.bin": b"weights one", "config.json": b"{}"},
        description="Baseline. " + HOSTILE,
        tags={"owner": HOSTILE},
        metrics={"auc": 0.91, "loss": 0.32},
        params={"lr": "0.1", "layers": "4", "note": HOSTILE},
        provenance={
            "code": {"repository": "https://git.example/risk/fraud", "commit": "0badc0de"},
            "datasets": [{"uri": "s3://lake/fraud/2026-11", "digest": digest_of(b"data")}],
            "run": {"id": "run-2026-11-30", "experiment": "fraud-gbm"},
            "environment": {"python": "3.12.7", "packages": {"lightgbm": "4.5.0"}},
        },
        schema={"inputs": [{"name": "amount", "type": "float32", "shape": [-1, 1]}]},
    )
    second = register(
        site,
        "fraud",
        {"model.bin": b"weights two", "config.json": b"{}", "calibration.json": b"[]"},
        description="Retrained on December data.",
        metrics={"auc": 0.94, "loss": 0.28},
        params={"lr": "0.05", "layers": "4"},
        provenance={"parents": [{"ref": "risk/fraud:1", "relation": "fine_tuned_from"}]},
        schema={"inputs": [{"name": "amount", "type": "float64", "shape": [-1, 1]}]},
    )
    return first, second


def test_a_version_page_shows_its_facts_provenance_and_trail(site: Site) -> None:
    first, second = two_versions(site)
    promoted = site.api("POST", "/api/v1/models/risk/fraud/versions/2/promote",
                        json={"target": "staging"})  # fmt: skip
    assert promoted.status_code == 200, promoted.text
    deployed = site.api(
        "POST",
        "/api/v1/models/risk/fraud/versions/2/deployments",
        json={"target": "eu-canary", "strategy": "canary", "weight": 5, "outcome": "succeeded"},
    )
    assert deployed.status_code == 201, deployed.text
    tab, watched = site.page(site.server.token)
    tab.context.grant_permissions(["clipboard-read", "clipboard-write"])

    tab.goto(site.url + "/models/risk/fraud/versions/1")
    assert tab.locator("h1").inner_text().startswith("risk/fraud:1")
    assert tab.locator(".description").inner_text() == "Baseline. " + HOSTILE  # as text
    assert HOSTILE in tab.locator("table.params").inner_text()
    assert tab.locator("img").count() == 0  # no element was made from the user's HTML
    provenance = tab.locator("section[aria-labelledby=provenance-h]").inner_text()
    for shown in ("0badc0de", "s3://lake/fraud/2026-11", "run-2026-11-30", "Python 3.12.7"):
        assert shown in provenance
    assert "float32" in tab.locator("section[aria-labelledby=schema-h]").inner_text()
    digest_button = tab.locator(f"button[data-copy='{first['manifest_digest']}']")
    digest_button.click()
    expect(digest_button).to_have_text("Copied")  # once the clipboard has it
    assert tab.evaluate("navigator.clipboard.readText()") == first["manifest_digest"]
    site.shot(tab, "version-1")

    tab.goto(site.url + "/models/risk/fraud/versions/latest")
    assert tab.locator("h1").inner_text().startswith("risk/fraud:2")
    tab.click("section[aria-labelledby=provenance-h] a")  # the parent, linked
    tab.wait_for_url("**/models/risk/fraud/versions/1")
    tab.go_back()
    deployments = tab.locator("section[aria-labelledby=deployments-h]").inner_text()
    assert "eu-canary" in deployments and "canary" in deployments and "succeeded" in deployments
    decisions = tab.locator("section[aria-labelledby=decisions-h]").inner_text()
    assert "staging" in decisions and "allowed" in decisions
    audit = tab.locator("section[aria-labelledby=audit-h] a")
    assert audit.count() >= 3  # registered, promoted, deployed
    assert (audit.first.get_attribute("href") or "").startswith("/audit/entries/")
    site.shot(tab, "version-2-staging-deployed")
    assert second["number"] == 2

    tab.set_viewport_size({"width": 360, "height": 800})
    assert tab.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways page
    site.shot(tab, "version-2-narrow")
    entry = audit.first.get_attribute("href") or ""
    with tab.expect_navigation() as opened:
        audit.first.click()
    assert opened.value is not None and opened.value.status == 200
    assert tab.url.endswith(entry)  # the entry's own page, with its proof
    assert watched.dialogs == [] and watched.console_errors == []


def test_compare_puts_two_versions_side_by_side_and_stacks_them_when_narrow(site: Site) -> None:
    two_versions(site)
    tab, watched = site.page(site.server.token)
    tab.goto(site.url + "/models/risk/fraud/versions/2")
    tab.click("text=Compare with version 1")
    tab.wait_for_url(re.compile(r".*/compare\?a=.*"))
    metrics = tab.locator("table.compare-metrics tbody tr")
    assert metrics.nth(0).inner_text().split("\t") == ["auc", "0.91", "0.94", "higher by 0.03"]
    assert metrics.nth(1).inner_text().split("\t") == ["loss", "0.32", "0.28", "lower by 0.04"]
    changed = tab.locator("table.compare-params tr.changed th").all_inner_texts()
    assert changed == ["lr", "note"]  # layers is the same on both sides
    files = {
        row.split("\t")[0]: row.split("\t")[-1]
        for row in tab.locator("table.compare-files tbody tr").all_inner_texts()
    }
    assert files == {
        "calibration.json": "only in B",
        "config.json": "same",
        "model.bin": "changed",
    }
    assert "float64" in tab.locator("table.compare-schema").inner_text()
    site.shot(tab, "compare-wide")

    tab.set_viewport_size({"width": 360, "height": 800})
    panels = tab.locator(".side-by-side > section.panel")
    top_a, top_b = (panels.nth(i).bounding_box() for i in (0, 1))
    assert top_a is not None and top_b is not None and top_b["y"] > top_a["y"]  # stacked
    assert tab.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways page
    site.shot(tab, "compare-narrow")
    assert watched.dialogs == [] and watched.console_errors == []


def test_a_bad_reference_to_compare_is_a_clear_400(site: Site) -> None:
    two_versions(site)
    tab, _ = site.page(site.server.token)
    answer = tab.goto(site.url + "/compare?a=risk/fraud:1&b=risk/fraud:one")
    assert answer is not None and answer.status == 400
    assert "a version selector is a number" in tab.locator("h1").inner_text()
    site.shot(tab, "compare-bad-reference")


def test_a_large_versions_files_come_a_page_at_a_time(site: Site) -> None:
    assert site.api("POST", "/api/v1/namespaces", json={"name": "risk"}).status_code == 201
    register(site, "shards", {f"shard-{i:03d}.bin": f"shard {i % 3}".encode() for i in range(120)})
    tab, watched = site.page(site.server.token)
    tab.goto(site.url + "/models/risk/shards/versions/1")
    paths = tab.locator("table.files tbody td.mono")
    assert paths.count() == 100
    assert paths.first.inner_text() == "shard-000.bin"
    tab.click("a[rel=next]")
    tab.wait_for_url(re.compile(r".*/versions/1\?files=.+"))
    assert paths.all_inner_texts() == [f"shard-{i:03d}.bin" for i in range(100, 120)]
    assert tab.locator("a[rel=next]").count() == 0
    site.shot(tab, "version-files-page-2")
    tab.click("text=First files")
    assert paths.first.inner_text() == "shard-000.bin"
    assert watched.dialogs == [] and watched.console_errors == []
