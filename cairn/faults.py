"""Crash points, for the fault tests: a process started with ``CAIRN_CRASH_AT=<point>`` kills
itself with SIGKILL — no clean-up, no flushing, what a power cut looks like — the first time
it reaches that point. Unset (always, outside the tests), reaching a point reads one
environment variable. The points:

    blob-receiving      a whole-blob upload has begun arriving; nothing is durable yet
    register-uncommitted  a registration has written its rows; the transaction is not committed
    register-committed  a registration has committed; the client has not had its answer
"""

from __future__ import annotations

import os
import signal

POINTS = frozenset({"blob-receiving", "register-uncommitted", "register-committed"})


def crash_point(name: str) -> None:
    if os.environ.get("CAIRN_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
