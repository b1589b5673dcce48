"""Version references: ``ns/name:7``, ``ns/name@alias``, ``ns/name:latest``, ``name``.

The namespace may be left out for ``default``. A reference with no selector names the model
(and, where a version is wanted, its latest version). One parser serves the SDK, the CLI, the
API and the web pages, so a reference means the same thing everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from cairn.domain.names import check_alias, check_name, normalize_name
from cairn.errors import InvalidName, InvalidReference

DEFAULT_NAMESPACE = "default"
REF_MAX = 400


@dataclass(frozen=True, slots=True)
class Reference:
    namespace: str
    model: str
    number: int | None = None
    alias: str | None = None

    @property
    def is_latest(self) -> bool:
        return self.number is None and self.alias is None

    def __str__(self) -> str:
        base = f"{self.namespace}/{self.model}"
        if self.number is not None:
            return f"{base}:{self.number}"
        if self.alias is not None:
            return f"{base}@{self.alias}"
        return f"{base}:latest"


def parse_reference(raw: object) -> Reference:
    """Parse a reference; raise ``InvalidReference`` with the reason if it is not one."""
    if not isinstance(raw, str) or not raw:
        raise InvalidReference("a reference is a non-empty string like 'ns/model:3'")
    if len(raw) > REF_MAX:
        raise InvalidReference(f"a reference is at most {REF_MAX} characters")
    head, at, alias = raw.partition("@")
    number: int | None = None
    if not at:
        head, colon, selector = raw.partition(":")
        if colon:
            number = _parse_selector(selector, raw)
    parts = head.split("/")
    if len(parts) > 2:
        raise InvalidReference("a reference has at most one '/': 'namespace/model'", ref=raw)
    namespace, model = (DEFAULT_NAMESPACE, parts[0]) if len(parts) == 1 else parts
    try:
        return Reference(
            namespace=normalize_name(namespace, kind="namespace"),
            model=check_name(model, kind="model"),
            number=number,
            alias=check_alias(alias) if at else None,
        )
    except InvalidName as exc:
        raise InvalidReference(f"{exc.message} (in reference {raw[:100]!r})", ref=raw) from exc


def parse_model_reference(raw: object) -> Reference:
    """A reference where a model is wanted (``ns/name`` or ``name``). One that selects a
    version (``:3``, ``:latest``, ``@prod``) is refused, never read as its model: pushing to
    ``fraud:1`` must not quietly make version 8 of ``fraud``."""
    ref = parse_reference(raw)
    if ref.number is not None or ref.alias is not None or ":" in str(raw):
        model = f"{ref.namespace}/{ref.model}"
        raise InvalidReference(
            f"{str(raw)[:100]!r} selects a version; name the model alone, as {model!r}",
            ref=str(raw)[:100],
        )
    return ref


def model_ref(
    namespace: str, model: str, *, number: int | None = None, alias: str | None = None
) -> Reference:
    """A reference built from parts that arrive separately (as in a URL), each checked."""
    try:
        return Reference(
            normalize_name(namespace, kind="namespace"),
            check_name(model, kind="model"),
            number=number,
            alias=alias,
        )
    except InvalidName as exc:
        raise InvalidReference(exc.message, **exc.details) from exc


def parse_selector(raw: str) -> tuple[int | None, str | None]:
    """A version selector as it appears in a URL: ``7``, ``latest`` or ``@alias``."""
    if raw.startswith("@"):
        try:
            return None, check_alias(raw[1:])
        except InvalidName as exc:
            raise InvalidReference(exc.message, selector=raw[:100]) from exc
    return _parse_selector(raw, raw), None


def _parse_selector(selector: str, raw: str) -> int | None:
    if selector == "latest":
        return None
    if selector.isascii() and selector.isdigit() and len(selector) <= 12:
        number = int(selector)
        if number >= 1:
            return number
    raise InvalidReference(
        "a version selector is a number from 1, 'latest' or '@alias'", ref=raw[:100]
    )
