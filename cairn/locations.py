"""Where the embedded server keeps its data, as the server and the CLI on the same machine
both see it. Light on purpose: the CLI imports it without the server's settings machinery."""

from __future__ import annotations

from pathlib import Path

import platformdirs

# The names of files, not secrets: the admin token made on first start, and the key by which
# the server proves it is the one whose data folder holds that token.
ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105
SERVER_KEY_FILE = "server-key"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("cairn", appauthor=False))
