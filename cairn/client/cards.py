"""A version's model card: one of its own files (``MODEL_CARD.md`` or ``README.md``, or the
file ``push(card=…)`` adds as ``MODEL_CARD.md``), so it is immutable with the version and
pulled with it. The server notes which file it is (``provenance.extra.derived.card``)."""

from __future__ import annotations

from pathlib import Path

from cairn import errors
from cairn.client.http import Http
from cairn.domain.derived import card_path
from cairn.domain.metadata import CARD_MAX
from cairn.wire import paths
from cairn.wire.versions import Version

CARD_FILE = "MODEL_CARD.md"


def with_card(files: list[tuple[str, Path]], card: Path) -> list[tuple[str, Path]]:
    """``files`` with ``card`` added as ``MODEL_CARD.md`` (Markdown, at most ``CARD_MAX``)."""
    if any(p == CARD_FILE for p, _ in files):
        raise errors.InvalidInput(f"the folder holds a {CARD_FILE} already: it is the card")
    if not card.is_file() or card.stat().st_size > CARD_MAX:
        raise errors.InvalidInput(f"a card is a Markdown file of at most {CARD_MAX} bytes")
    try:
        card.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise errors.InvalidInput(f"{card} is not UTF-8 text") from None
    return [*files, (CARD_FILE, card)]


def read_card(http: Http, version: Version) -> str | None:
    """The text of the version's card, if it has one (its files must have been read)."""
    path = card_path(version.provenance)
    entry = next((f for f in version.files or [] if f.path == path), None)
    if entry is None or entry.size > CARD_MAX:
        return None
    answer = http.request("GET", paths.blob(version.namespace, entry.digest))
    return answer.content.decode("utf-8", errors="replace")


def summary(card: str) -> str:
    """The card's first heading or line of text, for a one-line listing."""
    for line in card.splitlines():
        text = line.strip().lstrip("#").strip()
        if text:
            return text[:120]
    return ""
