"""Names of namespaces, models, aliases and tag keys.

A name is stored lower-cased. Uniqueness is decided on a *canonical key* that also folds every
run of ``-``, ``_`` and ``.`` into one ``-``, so ``Fraud_Model`` and ``fraud-model`` are the
same model (as on PyPI): look-alike names cannot coexist.
"""

from __future__ import annotations

import re

from cairn.domain.paths import is_device_name
from cairn.errors import InvalidName

NAME_MAX = 128
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_SEPARATORS = re.compile(r"[-_.]+")
_TAG_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}")
TAG_VALUE_MAX = 1024
RESERVED_ALIASES = frozenset({"latest"})
# OCI tags name a version's views as "<selector>.<view>" (see cairn.domain.oci): an alias
# ending like a view would be read as one.
VIEW_SUFFIXES = (".kserve", ".modelpack")


def normalize_name(raw: object, *, kind: str = "name") -> str:
    """Lower-case ``raw`` and check it is a valid name; raise ``InvalidName`` otherwise."""
    if not isinstance(raw, str):
        raise InvalidName(f"a {kind} must be a string", kind=kind)
    if not raw:
        raise InvalidName(f"a {kind} must not be empty", kind=kind)
    if len(raw) > NAME_MAX:
        raise InvalidName(f"a {kind} is at most {NAME_MAX} characters", kind=kind, length=len(raw))
    # isascii first: a few non-ASCII letters (the Kelvin sign) lower-case into ASCII ones.
    name = raw.lower() if raw.isascii() else raw
    if not _NAME.fullmatch(name):
        raise InvalidName(
            f"a {kind} starts with a letter or digit and holds only a-z, 0-9, '.', '_' and '-'",
            kind=kind,
            value=raw[:NAME_MAX],
        )
    return name


def check_new_name(name: str, *, kind: str) -> str:
    """A normalised ``name`` about to be given to a new namespace, model or alias, refused if
    Windows would take it for a device (``con``, ``nul.v2``, ``com1``): names become folders
    on the machines that pull (OCI repositories, MLflow's artifact tree). Only new names are
    checked, so that one made before this rule can still be read, renamed or deleted."""
    if is_device_name(name):
        raise InvalidName(
            f"a {kind} may not be a Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9), "
            "with or without an extension",
            kind=kind,
            value=name,
        )
    return name


def canonical_key(name: str) -> str:
    return _SEPARATORS.sub("-", name)


def normalize_alias(raw: object) -> str:
    name = normalize_name(raw, kind="alias")
    if name.isdigit() or name in RESERVED_ALIASES:
        raise InvalidName("an alias may not be a number or 'latest'", kind="alias", value=name)
    if name.endswith(VIEW_SUFFIXES):
        raise InvalidName(
            "an alias may not end in '.kserve' or '.modelpack' (those are OCI view tags)",
            kind="alias",
            value=name,
        )
    return name


def check_tag(key: object, value: object) -> tuple[str, str]:
    if not isinstance(key, str) or not _TAG_KEY.fullmatch(key):
        raise InvalidName(
            "a tag key is 1-128 characters of letters, digits and '_.:/-', starting with a "
            "letter, digit or '_'",
            kind="tag",
            value=str(key)[:128],
        )
    if not isinstance(value, str):
        raise InvalidName("a tag value must be a string", kind="tag", key=key)
    # Bytes, not characters: the value is in an index, and PostgreSQL caps an index row.
    if len(value.encode("utf-8", "surrogatepass")) > TAG_VALUE_MAX or any(
        (ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value
    ):
        raise InvalidName(
            f"a tag value is at most {TAG_VALUE_MAX} bytes of UTF-8, with no control characters",
            kind="tag",
            key=key,
        )
    return key, value
