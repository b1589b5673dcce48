"""Provenance captured on the producer's machine: the code's git state, and the environment a
file states."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from cairn.domain.model_files import read_environment
from cairn.errors import InvalidMetadata

_CREDENTIALS = re.compile(r"(?<=://)[^/@]+@")


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_info(path: Path) -> dict[str, Any] | None:
    """Repository, commit, branch and dirty flag of the git work tree holding ``path``."""
    folder = path if path.is_dir() else path.parent
    commit = _git(folder, "rev-parse", "HEAD")
    if not commit:
        return None
    info: dict[str, Any] = {"commit": commit}
    remote = _git(folder, "config", "--get", "remote.origin.url")
    if remote:
        info["repository"] = _CREDENTIALS.sub("", remote)  # never record a token in a URL
    branch = _git(folder, "rev-parse", "--abbrev-ref", "HEAD")
    if branch and branch != "HEAD":
        info["branch"] = branch
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    if status is not None:
        info["dirty"] = bool(status)
    return info


def environment_file(path: Path) -> dict[str, Any]:
    """The environment a file states (``requirements.txt``, ``python_env.yaml``,
    ``conda.yaml``: the name's suffix says how to read it), as ``provenance.environment``."""
    name = "requirements.txt"
    if path.suffix in (".yaml", ".yml"):
        name = "conda.yaml" if "conda" in path.name else "python_env.yaml"
    stated = read_environment(name, path.read_bytes())
    if not stated:
        raise InvalidMetadata(f"{path} states no Python version or packages", field="env_file")
    return stated


def capture(path: Path) -> dict[str, Any]:
    """What Cairn records by default about where a pushed model came from: the code's git
    state and the command. Never this process's own packages: the model's environment is what
    its files state (the server reads them) or what ``environment_file`` reads."""
    found: dict[str, Any] = {}
    code = code_info(path)
    if code:
        found["code"] = code
    if sys.argv and sys.argv[0]:
        found["extra"] = {"command": Path(sys.argv[0]).name}
    return found
