"""Provenance captured on the producer's machine: the code's git state and the environment."""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

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


def environment_info() -> dict[str, Any]:
    packages: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            packages[name.lower()] = dist.version
    return {
        "python": platform.python_version(),
        "platform": f"{platform.system()}-{platform.release()}-{platform.machine()}",
        "packages": dict(sorted(packages.items())),
    }


def capture(path: Path) -> dict[str, Any]:
    """What Cairn records by default about where a pushed model came from."""
    found: dict[str, Any] = {"environment": environment_info()}
    code = code_info(path)
    if code:
        found["code"] = code
    if sys.argv and sys.argv[0]:
        found["extra"] = {"command": Path(sys.argv[0]).name}
    return found
