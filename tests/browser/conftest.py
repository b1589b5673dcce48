"""Browser tests: the pages driven in Debian's Chromium (``/usr/bin/chromium``, which
``scripts/test`` installs when it is missing) through Playwright, against a real server.

Each test saves a screenshot of where it ended (``shot``) under ``build/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, sync_playwright

from tests.conftest import LiveServer, bearer, start_live_server

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module. Not per session: Playwright's synchronous API keeps an
    event loop running in this thread for as long as it is open, and a later test that runs
    ``asyncio.run`` in the same test process would find it there."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Watched:
    """What a page did that a test must know about: dialogs opened (an injected ``alert``)
    and errors on its console (a script the CSP refused, an exception)."""

    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_loads: list[str] = field(default_factory=list)  # a 4xx answer is not a script error


@dataclass
class Site:
    """A live server and a way to open pages on it as someone."""

    server: LiveServer
    browser: Browser
    shots: Path
    pages: list[tuple[Page, Watched]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, method: str, path: str, token: str | None = None, **kw: object) -> httpx.Response:
        headers = bearer(token or self.server.token)
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)  # type: ignore[arg-type]

    def token_for(self, name: str, namespace: str, role: str) -> str:
        """A new user ``name`` holding ``role`` in ``namespace``, and a token of theirs."""
        made = self.api("POST", "/api/v1/principals", json={"name": name, "kind": "user"})
        assert made.status_code == 201, made.text
        granted = self.api("PUT", f"/api/v1/principals/{name}/roles/{namespace}/{role}")
        assert granted.status_code == 200, granted.text
        issued = self.api("POST", "/api/v1/tokens", json={"principal": name, "name": "ui"})
        assert issued.status_code == 201, issued.text
        return str(issued.json()["secret"])

    def page(
        self,
        token: str | None = None,
        width: int = 1280,
        height: int = 900,
        color_scheme: Literal["light", "dark"] = "light",
    ) -> tuple[Page, Watched]:
        """A fresh browser context (its own cookies), signed in with ``token`` if given, with a
        window ``width`` by ``height`` CSS pixels preferring the ``color_scheme``."""
        context = self.browser.new_context(
            viewport={"width": width, "height": height}, color_scheme=color_scheme
        )
        tab = context.new_page()
        watched = Watched()
        tab.on("dialog", lambda d: _dismissed(d, watched))
        tab.on("console", lambda m: _noted(m, watched))
        tab.on("pageerror", lambda e: watched.console_errors.append(str(e)))
        self.pages.append((tab, watched))
        if token is not None:
            self.sign_in(tab, token)
        return tab, watched

    def sign_in(self, tab: Page, token: str) -> None:
        tab.goto(self.url + "/sign-in")
        tab.fill("#token", token)
        tab.click("button[type=submit]")
        tab.wait_for_url(re.compile(r".*/$"))

    def shot(self, tab: Page, name: str, full_page: bool = True) -> Path:
        """The page as drawn (all of it, or only the window: the API's docs page is
        thousands of pixels long)."""
        path = self.shots / f"{name}.png"
        tab.screenshot(path=str(path), full_page=full_page)
        return path


def _dismissed(dialog: Dialog, watched: Watched) -> None:
    watched.dialogs.append(dialog.message)
    dialog.dismiss()


def _noted(message: ConsoleMessage, watched: Watched) -> None:
    if message.type != "error":
        return
    if message.text.startswith("Failed to load resource"):
        watched.failed_loads.append(message.text)
    else:
        watched.console_errors.append(message.text)


@pytest.fixture
def site(tmp_path: Path, browser: Browser) -> Iterator[Site]:
    server = start_live_server(tmp_path)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    made = Site(server, browser, SCREENSHOTS)
    yield made
    for tab, _ in made.pages:
        tab.context.close()
    server.stop()
