"""A model card's Markdown drawn as HTML that is safe to put in a page as it is.

Two locks, either of which would hold alone: markdown-it-py parses with raw HTML turned off
(a ``<script>`` in the card is text, not a tag) and refuses links to schemes it does not know,
then nh3 keeps only the tags and attributes below and only links to http, https, mailto or a
relative URL. Images become links to them: the pages' Content-Security-Policy loads images
from this server only, so a remote badge would be a broken picture and an error on the console.
No ``style`` attribute survives (the policy refuses inline style; tables lose their alignment).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markupsafe import Markup

TAGS = frozenset(
    {
        "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead",
        "tr", "ul",
    }
)  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"


def _image_as_link(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    token = tokens[idx]
    source = str(token.attrGet("src") or "")
    alt = renderer.renderInlineAsText(token.children or [], options, env)
    text = escapeHtml(alt or source)
    return f'<a href="{escapeHtml(source)}">{text}</a>' if source else text


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable(["table", "strikethrough"])
    parser.add_render_rule("image", _image_as_link)
    return parser


_MARKDOWN = _parser()

# Parsing costs up to ~25 µs a character on hostile input (runs of ``![``), so a page draws at
# most this much of a card (a card may hold CARD_MAX, a million), and keeps what it drew.
RENDER_MAX = 100_000
TRUNCATED = "\n\n*The card goes on past {0:,} characters: the rest is not shown here.*\n"
_KEPT = 128
_drawn: OrderedDict[bytes, Markup] = OrderedDict()
_drawn_lock = threading.Lock()


def render_markdown(text: str) -> Markup:
    """``text`` (a model card) as sanitised HTML, marked safe for the templates: its first
    ``RENDER_MAX`` characters, drawn once per process for the last ``_KEPT`` cards."""
    key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    with _drawn_lock:
        found = _drawn.get(key)
        if found is not None:
            _drawn.move_to_end(key)
            return found
    if len(text) > RENDER_MAX:
        text = text[:RENDER_MAX] + TRUNCATED.format(RENDER_MAX)
    drawn = _draw(text)
    with _drawn_lock:
        _drawn[key] = drawn
        while len(_drawn) > _KEPT:
            _drawn.popitem(last=False)
    return drawn


def _draw(text: str) -> Markup:
    html = _MARKDOWN.render(text)
    cleaned = nh3.clean(
        html,
        tags=set(TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704 - nh3 has just sanitised it
