"""Signing in with a token, the session it opens, and signing out."""

from __future__ import annotations

import httpx

from tests.browser.conftest import Site


def test_sign_in_shows_the_home_page_and_sign_out_ends_the_session(site: Site) -> None:
    assert site.api("POST", "/api/v1/namespaces", json={"name": "risk"}).status_code == 201
    tab, watched = site.page()
    tab.goto(site.url + "/?from=bookmark")
    # Not signed in: sent to sign in, and back to where it was going afterwards.
    assert tab.url.endswith("/sign-in?next=%2F%3Ffrom%3Dbookmark")

    tab.fill("#token", "cairn_aaaaaaaaaaaaaaaa_" + "b" * 43)
    tab.click("button[type=submit]")
    assert tab.locator("[role=alert]").inner_text() == "the token is not known"

    site.sign_in(tab, site.server.token)
    assert tab.locator("a[href='/namespaces/risk']").inner_text() == "risk"
    # Recent activity: the namespace's creation, linked to its entry in the audit log.
    assert "namespace.create" in tab.locator("section", has_text="Recent activity").inner_text()
    assert tab.locator(".who").inner_text().startswith("admin")
    cookie = next(c for c in tab.context.cookies() if c["name"] == "cairn_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    site.shot(tab, "home")

    tab.click("text=Sign out")
    tab.wait_for_url("**/sign-in")
    tab.goto(site.url + "/")
    assert "/sign-in" in tab.url  # the session is gone on the server, not just the cookie
    same_cookie = {"cairn_session": cookie["value"]}
    assert httpx.get(site.url + "/", cookies=same_cookie).status_code == 303
    assert watched.dialogs == [] and watched.console_errors == []


def test_a_revoked_token_ends_its_sessions(site: Site) -> None:
    token = site.token_for("rita", "default", "reader")
    tab, _ = site.page(token)
    assert tab.locator(".who").inner_text().startswith("rita")
    token_id = token.split("_")[1]
    assert site.api("DELETE", f"/api/v1/tokens/{token_id}").status_code == 200
    tab.goto(site.url + "/")
    assert "/sign-in" in tab.url
    site.shot(tab, "signed-out-after-revocation")


def test_a_form_without_the_sessions_csrf_token_is_refused(site: Site) -> None:
    tab, _ = site.page(site.server.token)
    session = next(c for c in tab.context.cookies() if c["name"] == "cairn_session")
    forged = httpx.post(
        site.url + "/sign-out",
        data={"csrf": "0" * 64},
        cookies={"cairn_session": session["value"]},
    )
    assert forged.status_code == 403
    assert "your session" in forged.text
    tab.goto(site.url + "/")
    assert tab.locator(".who").inner_text().startswith("admin")  # still signed in
    site.shot(tab, "after-forged-post")


def test_every_page_carries_a_strict_content_security_policy(site: Site) -> None:
    for path in ("/sign-in", "/static/cairn.css", "/no-such-page-root", "/"):
        answer = httpx.get(site.url + path)
        if path == "/no-such-page-root":
            assert "content-security-policy" not in answer.headers  # not a page: the API's 404
            continue
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_the_pages_can_be_used_from_the_keyboard(site: Site) -> None:
    """Sign in, skip to the content, search and open a result with keys alone."""
    assert site.api("POST", "/api/v1/namespaces", json={"name": "risk"}).status_code == 201
    tab, watched = site.page()
    tab.goto(site.url + "/sign-in")
    tab.keyboard.type(site.server.token)  # the token field has the focus on arrival
    tab.keyboard.press("Enter")
    tab.wait_for_url(site.url + "/")

    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.textContent") == "Skip to content"
    tab.keyboard.press("Enter")
    assert tab.url.endswith("#main")
    focused = [tab.evaluate("document.activeElement.outerHTML")]
    for _ in range(3):
        tab.keyboard.press("Tab")
        focused.append(tab.evaluate("document.activeElement.outerHTML"))
    assert any('id="q"' in element for element in focused), focused  # the search box
    tab.focus("#q")
    tab.keyboard.type("namespace = 'risk'")
    tab.keyboard.press("Enter")
    tab.wait_for_url("**/search?q=*")
    # The focus, moved by the keyboard, shows where it is.
    tab.keyboard.press("Tab")
    tab.keyboard.press("Tab")
    outline = tab.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid", tab.evaluate("document.activeElement.outerHTML")
    site.shot(tab, "keyboard-search")
    assert watched.console_errors == []
