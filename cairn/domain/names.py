"""Names of namespaces, models, aliases and tag keys.

A model or an alias keeps the spelling it was given (its display name, ``Fraud_Model``), as a
PyPI project does; namespaces are stored lower-cased. Uniqueness and look-ups go by a
*canonical key*: a model's lower-cases the name and folds every run of ``-``, ``_`` and ``.``
into one ``-``, so ``Fraud_Model`` and ``fraud-model`` are the same model and look-alike names
cannot coexist; an alias's is its name lower-cased (``alias_key``). Any spelling that
canonicalises the same finds the object. OCI repository names are the lower-cased form, which
the OCI specification requires.
"""

from __future__ import annotations

import json
import posixpath
import re

from cairn.domain.paths import is_device_name
from cairn.errors import InvalidName

NAME_MAX = 128
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_SEPARATORS = re.compile(r"[-_.]+")
# MLflow's rule for tag keys: letters, digits, '_', '-', '.', ' ', ':' and '/', up to 250, a
# key that a path would read as another name refused; values up to 100,000 characters.
TAG_KEY_MAX = 250
_TAG_KEY = re.compile(r"[\w/.\- :]{1,250}")
TAG_VALUE_MAX = 100_000
RESERVED_ALIASES = frozenset({"latest"})
# OCI tags name a version's views as "<selector>.<view>" (see cairn.domain.oci): an alias
# ending like a view would be read as one.
VIEW_SUFFIXES = (".kserve", ".modelpack")


def normalize_name(raw: object, *, kind: str = "name") -> str:
    """``raw`` checked (``check_name``) and lower-cased."""
    return check_name(raw, kind=kind).lower()


def check_name(raw: object, *, kind: str = "name") -> str:
    """``raw`` as it was spelled, checked to be a valid name once lower-cased; raise
    ``InvalidName`` otherwise."""
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
    return raw


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
    """The key a name is unique under: lower-cased, runs of ``-_.`` folded into one ``-``."""
    return _SEPARATORS.sub("-", name.lower() if name.isascii() else name)


def alias_key(name: str) -> str:
    """The key an alias is unique under (on its model): its name lower-cased."""
    return name.lower() if name.isascii() else name


def normalize_alias(raw: object) -> str:
    """``raw`` checked as an alias (``check_alias``) and lower-cased."""
    return alias_key(check_alias(raw))


def check_alias(raw: object) -> str:
    """``raw`` as it was spelled, checked to be a valid alias once lower-cased."""
    spelled = check_name(raw, kind="alias")
    name = spelled.lower()
    if name.isdigit() or name in RESERVED_ALIASES:
        raise InvalidName("an alias may not be a number or 'latest'", kind="alias", value=name)
    if name.endswith(VIEW_SUFFIXES):
        raise InvalidName(
            "an alias may not end in '.kserve' or '.modelpack' (those are OCI view tags)",
            kind="alias",
            value=name,
        )
    return spelled


def check_tag(key: object, value: object) -> tuple[str, str]:
    """A tag as MLflow's registry takes it, less control characters in the value."""
    if isinstance(key, str) and len(key) > TAG_KEY_MAX:
        raise InvalidName(
            f"a tag key is at most {TAG_KEY_MAX} characters",
            kind="tag",
            rule="key_length",
            limit=TAG_KEY_MAX,
        )
    if not isinstance(key, str) or not _TAG_KEY.fullmatch(key) or _not_unique_path(key):
        raise InvalidName(
            f"a tag key is 1-{TAG_KEY_MAX} letters, digits, underscores (_), dashes (-), "
            "periods (.), spaces ( ), colons (:) and slashes (/), and not a path that reads "
            "as another name ('/k', 'a//b', '../k')",
            kind="tag",
            rule="key_characters",
            value=str(key)[:TAG_KEY_MAX],
            quoted=json.dumps(str(key)[:TAG_KEY_MAX]),
        )
    if not isinstance(value, str):
        raise InvalidName("a tag value must be a string", kind="tag", key=key)
    if len(value) > TAG_VALUE_MAX:
        raise InvalidName(
            f"a tag value is at most {TAG_VALUE_MAX} characters",
            kind="tag",
            key=key,
            rule="value_length",
            limit=TAG_VALUE_MAX,
        )
    if _CONTROL.search(value):
        raise InvalidName(
            "a tag value has no control characters but tab",
            kind="tag",
            key=key,
            rule="value_characters",
        )
    return key, value


# Unicode category Cc but tab, and lone surrogates (no database stores them as text).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")


def _not_unique_path(name: str) -> bool:
    """MLflow's ``path_not_unique``: the name, read as a path, names something else."""
    norm = posixpath.normpath(name)
    return norm != name or norm == "." or norm.startswith(("..", "/"))
