"""Search with the filter language, the audit log and an entry's proof verified in the
browser, and the API's docs page; none of them loads anything from another origin."""

from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import urlencode

import rfc8785
from playwright.sync_api import Page, Request

from cairn.domain.merkle import MerkleTree, leaf_hash
from tests.browser.conftest import Site, Watched

WEIGHTS = b"weights " * 100
DIGEST = "sha256:" + hashlib.sha256(WEIGHTS).hexdigest()


def register(site: Site, namespace: str, model: str, auc: float) -> None:
    if site.api("GET", f"/api/v1/namespaces/{namespace}").status_code == 404:
        assert site.api("POST", "/api/v1/namespaces", json={"name": namespace}).status_code == 201
    put = site.api("PUT", f"/api/v1/namespaces/{namespace}/blobs/{DIGEST}", content=WEIGHTS)
    assert put.status_code in (200, 201), put.text
    files = [{"path": "weights.bin", "size": len(WEIGHTS), "digest": DIGEST}]
    body = {"manifest": {"files": files}, "metrics": {"auc": auc}, "tags": {"team": namespace}}
    made = site.api("POST", f"/api/v1/models/{namespace}/{model}/versions", json=body)
    assert made.status_code == 201, made.text


def same_origin_only(site: Site, tab: Page) -> list[str]:
    """Every URL the tab requests from now on (checked at the end of the test)."""
    seen: list[str] = []

    def note(request: Request) -> None:
        seen.append(request.url)

    tab.on("request", note)
    return seen


def assert_stayed_home(site: Site, seen: list[str], watched: Watched) -> None:
    assert seen, "the tab made no request at all"
    elsewhere = [url for url in seen if not url.startswith(site.url + "/")]
    assert elsewhere == []
    assert watched.dialogs == [] and watched.console_errors == []


def browser_check(tab: Page) -> tuple[str | None, str]:
    """What the page's script found when it checked the checkpoint again: (yes/no, text)."""
    found = tab.locator("#browser-check[data-verified]")
    found.wait_for()
    return found.get_attribute("data-verified"), found.inner_text()


def test_search_finds_versions_and_explains_a_bad_filter(site: Site) -> None:
    register(site, "risk", "fraud", 0.93)
    register(site, "risk", "churn", 0.71)
    tab, watched = site.page(site.server.token)
    seen = same_origin_only(site, tab)
    tab.fill("#q", "metrics.auc > 0.9")
    tab.click("form.search button[type=submit]")
    tab.wait_for_url("**/search?q=*")
    results = tab.locator("table.results tbody tr")
    assert results.count() == 1
    assert results.first.locator("a").inner_text() == "risk/fraud:1"
    site.shot(tab, "search-results")

    answer = tab.goto(site.url + "/search?q=" + "metrics.auc >")
    assert answer is not None and answer.status == 400
    problem = tab.locator("#filter-problem").inner_text()
    assert "does not parse" in problem and "position 13" in problem
    assert tab.locator("#q").input_value() == "metrics.auc >"  # the box keeps what was typed
    assert tab.locator("details.cheats").get_attribute("open") is not None
    assert "metrics.auc >= 0.9" in tab.locator("details.cheats").inner_text()
    site.shot(tab, "search-bad-filter")

    models = urlencode({"kind": "models", "q": "namespace = 'risk' AND name LIKE 'ch%'"})
    tab.goto(site.url + "/search?" + models)
    assert tab.locator("table.results tbody tr a").all_inner_texts() == ["risk/churn"]
    assert_stayed_home(site, seen, watched)


def test_the_audit_log_verifies_its_checkpoint_and_an_entrys_proof(site: Site) -> None:
    register(site, "risk", "fraud", 0.93)
    tab, watched = site.page(site.server.token)
    seen = same_origin_only(site, tab)
    tab.goto(site.url + "/audit")
    rows = tab.locator("table.audit tbody tr")
    assert rows.count() >= 3
    assert "version.register" in tab.locator("table.audit").inner_text()
    size = int(tab.locator("#checkpoint-size").inner_text().split()[0])
    root = tab.locator("#checkpoint-root").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", root)

    tab.click("form.verify-checkpoint button[type=submit]")
    tab.wait_for_url("**verify=1*")
    assert tab.locator("#checkpoint-check").get_attribute("data-verified") == "yes"
    assert f"checkpoint {size}" in tab.locator("#checkpoint-check").inner_text()
    verdict, text = browser_check(tab)
    assert verdict == "yes" and text.startswith(f"✓ In this browser: verified: checkpoint {size} ")
    site.shot(tab, "audit-log-checkpoint-verified")

    # More happens; the browser remembers the checkpoint it verified and checks the log grew.
    register(site, "risk", "churn", 0.71)
    tab.goto(site.url + "/audit")
    assert tab.locator("#seen_size").input_value() == str(size)
    tab.click("form.verify-checkpoint button[type=submit]")
    tab.wait_for_url("**verify=1*")
    check = tab.locator("#checkpoint-check")
    assert check.get_attribute("data-verified") == "yes", check.inner_text()
    assert f"since the checkpoint of size {size}" in check.inner_text()
    verdict, text = browser_check(tab)
    assert verdict == "yes" and f"only grew since the checkpoint of size {size} seen" in text
    proof = json.loads(tab.locator("#checkpoint-proof").text_content() or "")
    assert proof["seen"]["proof"], "a real consistency proof was checked, not an empty one"
    remembered = tab.evaluate("() => JSON.parse(localStorage.getItem('cairn.audit.seen'))")
    assert remembered["size"] > size  # the browser now trusts the newer checkpoint

    # A root that was never signed at that size does not pass for the log's history, on the
    # server or here; nor does a consistency proof edited in the page.
    forged = "/audit?verify=1&seen_size=" + str(size) + "&seen_root=" + "ab" * 32
    tab.goto(site.url + forged)
    assert tab.locator("#checkpoint-check").get_attribute("data-verified") == "no"
    assert browser_check(tab)[0] == "no"
    check_again = "async (data) => (await window.cairnAudit.verifyCheckpoint(data)).ok"
    assert tab.evaluate(check_again, proof) is True
    proof["seen"]["proof"][0] = "00" * 32
    assert tab.evaluate(check_again, proof) is False
    proof["seen"] = None
    proof["checkpoint"]["size"] -= 1  # the signature covers the size as well as the root
    assert tab.evaluate(check_again, proof) is False

    index = next(
        e["index"]
        for e in site.api("GET", "/api/v1/audit/entries?limit=1000").json()["items"]
        if e["action"] == "version.register"
    )
    tab.goto(site.url + f"/audit/entries/{index}")
    assert "version.register" in tab.locator("h1").inner_text()
    tab.click("#verify-proof")
    result = tab.locator("#verify-result[data-verified]")
    result.wait_for()
    text = result.inner_text()
    assert result.get_attribute("data-verified") == "yes", text
    assert "verified: the entry is in the log of size" in text
    assert "checkpoint signed by key ed25519:" in text
    site.shot(tab, "audit-entry-verified")
    assert_stayed_home(site, seen, watched)


def test_a_tampered_proof_fails_in_the_browser(site: Site) -> None:
    register(site, "risk", "fraud", 0.93)
    tab, watched = site.page(site.server.token)
    tab.goto(site.url + "/audit/entries/2")
    embedded = json.loads(tab.locator("#proof").text_content() or "")
    verify = "async (proof) => await window.cairnAudit.verifyProof(proof)"
    assert tab.evaluate(verify, embedded)["ok"] is True

    changed_actor = json.loads(json.dumps(embedded))
    changed_actor["document"]["actor"] = "mallory"
    found = tab.evaluate(verify, changed_actor)
    assert found["ok"] is False and "does not hash to its leaf" in found["message"]

    # A consistent forgery: the leaf recomputed from the changed entry, so only the path
    # (and the signed root) can catch it.
    forged_leaf = tab.evaluate(
        "async (d) => Array.from(await window.cairnAudit.leafHash(d), "
        "b => b.toString(16).padStart(2, '0')).join('')",
        changed_actor["document"],
    )
    changed_actor["leaf_hash"] = forged_leaf
    found = tab.evaluate(verify, changed_actor)
    assert found["ok"] is False and "does not lead from entry" in found["message"]

    wrong_root = json.loads(json.dumps(embedded))
    wrong_root["checkpoint"]["root"] = "00" * 32
    found = tab.evaluate(verify, wrong_root)
    assert found["ok"] is False

    # The same root, signed by nobody: the signature no longer covers it.
    unsigned = json.loads(json.dumps(embedded))
    unsigned["checkpoint"]["signature"] = "A" * 86 + "=="
    found = tab.evaluate(verify, unsigned)
    assert found["ok"] is False and "signature does not verify" in found["message"]

    # Tampering with the page's own block: the button reports the failure.
    tab.evaluate(
        "() => { const block = document.getElementById('proof');"
        " const proof = JSON.parse(block.textContent); proof.document.subject = 'risk/other';"
        " block.textContent = JSON.stringify(proof); }"
    )
    tab.click("#verify-proof")
    result = tab.locator("#verify-result[data-verified]")
    result.wait_for()
    assert result.get_attribute("data-verified") == "no"
    assert result.inner_text().startswith("✗ failed:")
    site.shot(tab, "audit-entry-tampered")
    assert watched.dialogs == [] and watched.console_errors == []


def test_a_reader_sees_their_namespaces_slice_only(site: Site) -> None:
    register(site, "risk", "fraud", 0.93)
    register(site, "ops", "router", 0.5)
    token = site.token_for("rita", "risk", "reader")
    tab, watched = site.page(token)
    tab.goto(site.url + "/audit")
    assert tab.locator("table.audit").count() == 0  # no whole log: choose a namespace
    tab.select_option("#namespace", "risk")
    tab.click("form.filters button[type=submit]")
    tab.wait_for_url("**namespace=risk*")
    text = tab.locator("table.audit").inner_text()
    assert "risk/fraud" in text and "ops/" not in text
    site.shot(tab, "audit-log-reader-slice")
    answer = tab.goto(site.url + "/audit?namespace=ops")
    assert answer is not None and answer.status == 403
    ops_entry = next(
        e["index"]
        for e in site.api("GET", "/api/v1/audit/entries?limit=1000").json()["items"]
        if e["subject"].startswith("ops/")
    )
    answer = tab.goto(site.url + f"/audit/entries/{ops_entry}")
    assert answer is not None and answer.status == 403
    assert watched.dialogs == []


def test_the_api_docs_page_is_drawn_from_the_openapi_document(site: Site) -> None:
    tab, watched = site.page()
    seen = same_origin_only(site, tab)
    tab.goto(site.url + "/api/v1/docs")
    operation = tab.locator("article#register_version")
    heading = operation.locator("h3").inner_text()
    assert heading == "POST /api/v1/models/{namespace}/{model}/versions"
    body = operation.locator("table.fields").nth(1).inner_text()  # after the parameters
    for field in ("manifest", "metrics", "params", "provenance", "idempotency_key"):
        assert field in body
    assert (
        "required" in operation.locator("table.fields tr", has_text="manifest").first.inner_text()
    )
    responses = operation.locator("table.responses").inner_text()
    assert "201" in responses and "409" in responses and "model_exists" in responses
    assert tab.locator("#security").inner_text().count("bearer") >= 1
    tab.click("nav.toc a[href='#register_version']")
    assert tab.url.endswith("#register_version")
    assert tab.locator("a[href='/api/v1/openapi.json']").count() == 1
    site.shot(tab, "api-docs", full_page=False)
    raw = site.api("GET", "/api/v1/openapi.json")
    assert raw.status_code == 200 and "paths" in raw.json()
    assert_stayed_home(site, seen, watched)


def test_the_pages_fit_a_narrow_screen(site: Site) -> None:
    register(site, "risk", "fraud", 0.93)
    tab, watched = site.page(site.server.token)
    tab.set_viewport_size({"width": 360, "height": 740})
    for path, name in [
        ("/audit", "audit-log-narrow"),
        ("/audit/entries/6", "audit-entry-narrow"),
        ("/search?q=metrics.auc%20%3E", "search-bad-filter-narrow"),
        ("/api/v1/docs#register_version", "api-docs-narrow"),
    ]:
        tab.goto(site.url + path)
        width = tab.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360, f"{path} is {width} px wide"
        site.shot(tab, name, full_page=not path.startswith("/api/v1/docs"))
    assert watched.console_errors == []


CHECK_ALL = """async (cases) => {
  const unhex = (h) => Uint8Array.from(h.match(/../g) || [], (p) => parseInt(p, 16));
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const found = [];
  for (const c of cases) {
    if (c.kind === "inclusion") {
      const root = await window.cairnAudit.rootFrom(
        unhex(c.leaf), c.index, c.size, c.proof.map(unhex));
      found.push(root !== null && hex(root) === c.root);
    } else {
      found.push(await window.cairnAudit.consistent(
        c.old, c.size, unhex(c.old_root), unhex(c.root), c.proof.map(unhex)));
    }
  }
  return found;
}"""


def test_the_browsers_merkle_code_agrees_with_the_domains(site: Site) -> None:
    """Every inclusion and consistency proof of trees of 1 to 17 leaves, made by
    ``cairn.domain.merkle``, verifies in the browser's port; each one with a hash changed
    does not."""
    leaves = [leaf_hash(bytes([i])) for i in range(17)]
    tree = MerkleTree(lambda start, end: leaves[start:end], memo_min_leaves=1)
    cases: list[dict[str, object]] = []
    for size in range(1, 18):
        root = tree.root(size).hex()
        for index in range(size):
            proof = [h.hex() for h in tree.inclusion_proof(index, size)]
            leaf = leaves[index].hex()
            cases.append(
                dict(kind="inclusion", leaf=leaf, index=index, size=size, root=root, proof=proof)
            )
        for old in range(1, size + 1):
            proof = [h.hex() for h in tree.consistency_proof(old, size)]
            old_root = tree.root(old).hex()
            cases.append(
                dict(
                    kind="consistency",
                    old=old,
                    old_root=old_root,
                    size=size,
                    root=root,
                    proof=proof,
                )
            )
    tampered = [
        dict(c, proof=[flipped(c["proof"][0]), *c["proof"][1:]]) for c in cases if c["proof"]
    ]  # type: ignore[index]
    tab, watched = site.page()
    tab.goto(site.url + "/sign-in")
    assert tab.evaluate(CHECK_ALL, cases) == [True] * len(cases)
    assert tab.evaluate(CHECK_ALL, tampered) == [False] * len(tampered)
    assert len(tampered) > 250
    site.shot(tab, "merkle-agreement-sign-in")
    assert watched.console_errors == []


def flipped(hash_hex: str) -> str:
    return ("1" if hash_hex[0] == "0" else "0") + hash_hex[1:]


def test_the_browsers_canonical_json_agrees_with_rfc8785(site: Site) -> None:
    """The leaf the browser hashes is the RFC 8785 text the server hashed: numbers, escapes and
    key order (by UTF-16 code units, where an emoji sorts before U+FF01) included."""
    documents = [
        {"b": 1, "a": [1.5, 1e21, 1e-7, 100, 0.1, -3, 123456789012.5], "": {}},
        {"\uff01": "full-width", "\U0001f600": "emoji", "é": '\u2028\x1f\x7f"\\/<>&'},
        {"payload": {"auc": 0.9100000000000001, "nested": [[], [None, True, False]]}},
    ]
    tab, watched = site.page()
    tab.goto(site.url + "/sign-in")
    drawn = tab.evaluate("(docs) => docs.map((d) => window.cairnAudit.canonical(d))", documents)
    assert drawn == [rfc8785.dumps(d).decode() for d in documents]
    site.shot(tab, "canonical-json-sign-in")
    assert watched.console_errors == []
