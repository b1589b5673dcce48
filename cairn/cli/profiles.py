"""Profiles: named servers with their tokens, kept in the user's config file
(``$XDG_CONFIG_HOME/cairn/config.toml``, by default ``~/.config/cairn/config.toml``; the file
0600, its folder 0700, since it holds tokens), written by ``cairn login`` and read by every
command.

Where a command connects, and with which token, is decided in this order:

1. the flags ``--url``, ``--token``, ``--ca-bundle``;
2. the profile ``--profile NAME`` names;
3. the environment: ``CAIRN_URL``, ``CAIRN_TOKEN``, ``CAIRN_CA_BUNDLE``;
4. the profile ``CAIRN_PROFILE`` names, or else the profile called ``default`` if there is one;
5. the local server: ``http://127.0.0.1:8080`` with the admin token its data folder holds.

A profile's token (and CA bundle) goes only to that profile's URL: when the URL comes from
elsewhere (``--url`` or ``CAIRN_URL``), the profile's token is not sent there.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cairn import errors

DEFAULT_PROFILE = "default"
CONFIG_FILE = "config.toml"


@dataclass(frozen=True, slots=True)
class Profile:
    url: str
    token: str
    ca_bundle: str | None = None


@dataclass(frozen=True, slots=True)
class Connection:
    """What a client is built from: ``None`` leaves the SDK's own default."""

    url: str | None
    token: str | None
    ca_bundle: str | None


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "cairn" / CONFIG_FILE


def load() -> dict[str, Profile]:
    """Every profile in the config file (none if there is no file); a file that is not the
    TOML this writes is a ``ConfigError`` naming it."""
    path = config_path()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise errors.ConfigError(f"cannot read {path}: {exc}", file=str(path)) from exc
    tables = document.get("profiles") or {}
    if not isinstance(tables, dict):
        raise errors.ConfigError(f"{path}: profiles is a table of profiles", file=str(path))
    found: dict[str, Profile] = {}
    for name, table in tables.items():
        url, token, ca = (table.get(k) if isinstance(table, dict) else None for k in _KEYS)
        if not isinstance(url, str) or not isinstance(token, str) or not isinstance(ca, str | None):
            raise errors.ConfigError(
                f"{path}: profile {name!r} needs the strings url and token", file=str(path)
            )
        found[name] = Profile(url, token, ca)
    return found


_KEYS = ("url", "token", "ca_bundle")


def save(profiles: dict[str, Profile]) -> Path:
    """Write the profiles, replacing the file in one rename, readable by its owner alone."""
    path = config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    lines = ["# Cairn CLI profiles (cairn login, cairn logout): it holds tokens, keep it private."]
    for name, profile in sorted(profiles.items()):
        lines += ["", f"[profiles.{_string(name)}]"]
        for key in _KEYS:
            value = getattr(profile, key)
            if value is not None:
                lines.append(f"{key} = {_string(value)}")
    part = path.with_name(f".{CONFIG_FILE}.{os.getpid()}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
            f.flush()
            os.fsync(f.fileno())
        part.chmod(0o600)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
    return path


def _string(value: str) -> str:
    # JSON's escaped ASCII string is also a TOML basic string (the same escapes, \uXXXX too).
    return json.dumps(value, ensure_ascii=True)


def chosen_name(flag: str | None) -> str:
    """The profile ``login`` and ``logout`` work on: ``--profile``, ``CAIRN_PROFILE``, or
    ``default``."""
    return flag or os.environ.get("CAIRN_PROFILE") or DEFAULT_PROFILE


def resolve(
    *, url: str | None, token: str | None, profile: str | None, ca_bundle: str | None
) -> Connection:
    """The connection the flags, the environment and the profiles give, in the order the
    module's docstring sets out."""
    env = os.environ
    named = profile or env.get("CAIRN_PROFILE") or None
    stored = _stored(named)
    flags = Connection(url or None, token, ca_bundle or None)
    environ = Connection(
        env.get("CAIRN_URL") or None, env.get("CAIRN_TOKEN"), env.get("CAIRN_CA_BUNDLE") or None
    )
    kept = Connection(stored.url, stored.token, stored.ca_bundle) if stored else None
    layers = [flags, kept, environ] if profile else [flags, environ, kept]
    sources = [layer for layer in layers if layer is not None]
    chosen_url = next((s.url for s in sources if s.url is not None), None)

    def usable(layer: Connection) -> bool:  # a profile's secrets only for its own URL
        return layer is not kept or _same(chosen_url, layer.url)

    return Connection(
        chosen_url,
        next((s.token for s in sources if s.token is not None and usable(s)), None),
        next((s.ca_bundle for s in sources if s.ca_bundle is not None and usable(s)), None),
    )


def _stored(named: str | None) -> Profile | None:
    profiles = load()
    if named is None:
        return profiles.get(DEFAULT_PROFILE)
    if named not in profiles:
        raise errors.ConfigError(
            f"no profile {named!r} in {config_path()} (cairn login URL --profile {named})",
            profile=named,
        )
    return profiles[named]


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.rstrip("/") == b.rstrip("/")
