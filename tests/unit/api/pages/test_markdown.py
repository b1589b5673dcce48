"""Model cards' Markdown: what a card author means is drawn, what an attacker hides is not."""

from __future__ import annotations

import re
import time

import pytest
from markupsafe import Markup

from cairn.api.pages.markdown import RENDER_MAX, render_markdown

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">raw link</a>',
    '<div onclick="alert(1)">raw block</div>\n\nafter',
    "<style>body{display:none}</style>",
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](  javascript:alert(1) )",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pic](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![pic](javascript:alert(1))",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    '[x](https://ok.example "t" onmouseover="alert(1)")',
    "<!-- <script>alert(1)</script> -->",
]


def tags_and_attributes(html: str) -> list[str]:
    return re.findall(r"<[a-zA-Z][^>]*>", html)


@pytest.mark.parametrize("card", HOSTILE)
def test_a_hostile_card_draws_no_script_no_handler_and_no_dangerous_url(card: str) -> None:
    html = str(render_markdown(card))
    for tag in tags_and_attributes(html):
        assert not re.match(r"<(script|style|iframe|svg|img|div|object|embed)\b", tag, re.I), html
        assert not re.search(r"\son\w+\s*=", tag, re.I), html
        assert not re.search(r"\sstyle\s*=", tag, re.I), html
        assert not re.search(r"(javascript|vbscript|data):", tag, re.I), html


def test_raw_html_is_shown_as_text() -> None:
    html = str(render_markdown("<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_javascript_link_is_not_a_link() -> None:
    html = str(render_markdown("[click](javascript:alert(1))"))
    assert "<a" not in html
    assert "click" in html


def test_safe_links_keep_their_target_and_get_rel() -> None:
    html = str(
        render_markdown("[a](https://example.org/x) [b](mailto:ml@example.org) [c](/models/risk/m)")
    )
    hrefs = re.findall(r'<a href="([^"]*)" rel="noopener noreferrer nofollow">', html)
    assert hrefs == ["https://example.org/x", "mailto:ml@example.org", "/models/risk/m"]


def test_an_image_is_a_link_to_it_with_its_alt_text() -> None:
    html = str(render_markdown("![the *logo*](https://example.org/logo.png)"))
    assert "<img" not in html
    assert (
        '<a href="https://example.org/logo.png" rel="noopener noreferrer nofollow">the logo</a>'
        in html
    )


def test_a_data_image_loses_its_url() -> None:
    html = str(render_markdown("![pixel](data:image/png;base64,iVBORw0KGgo=)"))
    assert "data:" not in html and "pixel" in html


def test_a_cards_ordinary_markdown_is_drawn() -> None:
    card = (
        "# Fraud model\n\nTrained on **2025** data, *not* for `credit`.\n\n"
        "| metric | value |\n|---:|:--|\n| auc | 0.91 |\n\n"
        "3. three\n4. four\n\n> quoted\n\n```python\nprint(1)\n```\n\n~~old~~\n"
    )
    html = str(render_markdown(card))
    for expected in (
        "<h1>Fraud model</h1>",
        "<strong>2025</strong>",
        "<em>not</em>",
        "<code>credit</code>",
        "<th>metric</th>",
        "<td>0.91</td>",
        '<ol start="3">',
        "<blockquote>",
        "<pre><code>print(1)\n</code></pre>",
        "<s>old</s>",
    ):
        assert expected in html
    assert "style=" not in html  # a table's alignment is inline style, which the CSP refuses


def test_the_answer_is_marked_safe_for_jinja() -> None:
    drawn = render_markdown("plain & simple")
    assert isinstance(drawn, Markup)
    assert str(drawn) == "<p>plain &amp; simple</p>\n"
    assert render_markdown("") == Markup("")


def test_a_long_card_is_drawn_up_to_a_bound_and_once() -> None:
    """A million characters of ``![`` would take half a minute to parse on every view."""
    hostile = "![" * 500_000
    started = time.perf_counter()
    drawn = render_markdown(hostile)
    first = time.perf_counter() - started
    assert "The card goes on past 100,000 characters" in drawn
    assert drawn.count("![") <= RENDER_MAX // 2
    started = time.perf_counter()
    assert render_markdown(hostile) == drawn  # kept: the second view parses nothing
    assert time.perf_counter() - started < first / 10
    plain = "# Fraud\n\n" + "word " * 15_000  # under the bound: drawn whole, no note
    assert (
        "goes on past" not in render_markdown(plain)
        and render_markdown(plain).count("word") == 15_000
    )
