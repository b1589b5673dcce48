"""Where the embedded server keeps its data, as the server and the CLI on the same machine
both see it. Light on purpose: the CLI imports it without the server's settings machinery."""

from __future__ import annotations

from pathlib import Path

import platformdirs

# The name of a file, not a secret.
ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("cairn", appauthor=False))
