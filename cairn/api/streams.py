"""Moving request bodies from the event loop to the blocking services without buffering them.

The services consume a plain iterator of chunks in a worker thread (hashing and fsync never
run on the event loop). ``consume_body`` feeds that iterator from the request stream through
a small bounded queue, in batches of about 1 MiB, so memory stays flat whatever the size.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable, Iterator
from typing import TypeVar

import anyio
from starlette.requests import ClientDisconnect, Request

from cairn.errors import SizeMismatch

T = TypeVar("T")
BATCH = 1 << 20
_DEPTH = 8
_END: list[bytes] = []
Item = list[bytes] | BaseException


class _Aborted(Exception):
    pass


async def consume_body(request: Request, consume: Callable[[Iterator[bytes]], T]) -> T:
    """Run ``consume(chunks)`` in a worker thread while the body streams into ``chunks``."""
    pipe: queue.Queue[Item] = queue.Queue(maxsize=_DEPTH)

    def chunks() -> Iterator[bytes]:
        while True:
            item = pipe.get()
            if isinstance(item, BaseException):
                raise item
            if item is _END:
                return
            # Joined here, in the worker: the event loop only hands over references.
            yield item[0] if len(item) == 1 else b"".join(item)

    worker = asyncio.ensure_future(anyio.to_thread.run_sync(consume, chunks()))
    try:
        await _pump(request, pipe, worker)
    except BaseException:
        _abort(pipe)
        raise
    return await worker


def _abort(pipe: queue.Queue[Item]) -> None:
    # Make room, then tell the worker to stop, so no thread waits forever on the pipe.
    while True:
        try:
            pipe.get_nowait()
        except queue.Empty:
            break
    pipe.put_nowait(_Aborted("the request was abandoned"))


async def _pump(request: Request, pipe: queue.Queue[Item], worker: asyncio.Future[T]) -> None:
    parts: list[bytes] = []
    pending = 0
    try:
        async for chunk in request.stream():
            parts.append(chunk)
            pending += len(chunk)
            if pending >= BATCH:
                if not await _put(pipe, parts, worker):
                    return
                parts, pending = [], 0
    except ClientDisconnect:
        await _put(pipe, SizeMismatch("the client went away before sending the whole body"), worker)
        return
    if parts and not await _put(pipe, parts, worker):
        return
    await _put(pipe, _END, worker)


async def _put(pipe: queue.Queue[Item], item: Item, worker: asyncio.Future[T]) -> bool:
    """Hand ``item`` to the worker; False if the worker has already stopped (it failed early)."""
    while not worker.done():
        try:
            pipe.put_nowait(item)
            return True
        except queue.Full:
            try:
                await anyio.to_thread.run_sync(lambda: pipe.put(item, timeout=0.5))
                return True
            except queue.Full:
                continue
    return False
