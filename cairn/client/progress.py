"""A progress bar that is either rich's or nothing at all."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class Bar:
    def __init__(self, enabled: bool, label: str, total: int) -> None:
        self.enabled = enabled and total > 0
        self.lock = threading.Lock()
        self.progress: Progress | None = None
        if self.enabled:
            self.progress = Progress(
                TextColumn(f"{label:<12}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),  # stdout is for results that scripts read
                transient=True,
            )
            self.task = self.progress.add_task(label, total=total)

    def __enter__(self) -> Bar:
        if self.progress:
            self.progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.progress:
            self.progress.stop()

    def advance(self, amount: int) -> None:
        if self.progress:
            with self.lock:
                self.progress.update(self.task, advance=amount)
