"""Tokens of the search filter language (``cairn.domain.filters`` parses them)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from cairn.errors import InvalidFilter


def error(message: str, position: int) -> InvalidFilter:
    return InvalidFilter(f"{message} (at position {position})", position=position)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # word, string, number, op, "(", ")", ",", end
    text: str
    pos: int
    value: str | int | float = ""
    # A string as a LIKE pattern: its bare % and _ stay wildcards, escaped ones become literal.
    pattern: str = ""


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]*")
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_OPERATORS = ("==", "!=", "<=", ">=", "=", "<", ">")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r", "%": "%", "_": "_"}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        token, pos = _next_token(text, pos)
        tokens.append(token)
    return [*tokens, Token("end", "", len(text))]


def _next_token(text: str, pos: int) -> tuple[Token, int]:
    char = text[pos]
    if char in "(),":
        return Token(char, char, pos), pos + 1
    if char in "'\"":
        return _string(text, pos)
    for op in _OPERATORS:
        if text.startswith(op, pos):
            return Token("op", op, pos, "=" if op == "==" else op), pos + len(op)
    if number := _NUMBER.match(text, pos):
        end = number.end()
        if end < len(text) and (text[end].isalnum() or text[end] in "_."):
            raise error(f"malformed number {text[pos : end + 1]!r}", pos)
        return Token("number", number.group(), pos, _number(number.group(), pos)), end
    if word := _WORD.match(text, pos):
        end = word.end()
        value = word.group()
        if value.endswith(".") and text.startswith("`", end):
            key, end = _quoted(text, end, "`")
            value += "".join(char for char, _ in key)
        return Token("word", text[pos:end], pos, value), end
    odd = char == "`" or not char.isascii()
    hint = "; a key with other characters is backquoted, as in tags.`my key`" if odd else ""
    raise error(f"unexpected character {char!r}{hint}", pos)


def _number(text: str, pos: int) -> int | float:
    value = float(text) if any(c in text for c in ".eE") else int(text)
    # Past these, SQLite and PostgreSQL disagree (overflow, an infinity) or refuse the bind.
    if math.isinf(value) or (isinstance(value, int) and abs(value) >= 2**63):
        raise error(f"number out of range: {text[:40]}", pos)
    return value


def _string(text: str, start: int) -> tuple[Token, int]:
    chars, end = _quoted(text, start, text[start])
    plain = "".join(char for char, _ in chars)
    pattern = "".join("\\" + c if escaped and c in "%_\\" else c for c, escaped in chars)
    return Token("string", text[start:end], start, plain, pattern), end


def _quoted(text: str, start: int, quote: str) -> tuple[list[tuple[str, bool]], int]:
    """Each character between ``quote`` at ``start`` and its closing twin, and whether it was
    escaped; and the position after the closing quote."""
    escapes = _ESCAPES if quote != "`" else {"\\": "\\", "`": "`"}
    out: list[tuple[str, bool]] = []
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if char == quote:
            return out, pos + 1
        if char == "\\" and pos + 1 < len(text):
            if text[pos + 1] not in escapes:
                known = " ".join("\\" + e for e in escapes)
                raise error(f"unknown escape '\\{text[pos + 1]}' (known: {known})", pos)
            out.append((escapes[text[pos + 1]], True))
            pos += 2
            continue
        out.append((char, False))
        pos += 1
    what = "key" if quote == "`" else "string"
    raise error(f"unterminated {what}: no closing {quote}", start)


def describe(token: Token) -> str:
    return "the end of the filter" if token.kind == "end" else repr(token.text[:40])


# --- grammar ------------------------------------------------------------------------------
