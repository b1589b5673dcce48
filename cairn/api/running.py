"""Where a request runs: on the event loop, or in a worker thread. The rule, stated once.

The services are blocking code (SQLAlchemy, file and object-store I/O, hashing). The event
loop must never wait on I/O that can take long, and a hand-off to a worker thread and back
costs more CPU than a small read of a local SQLite file. So each route says which kind of
work it does, and the kind decides where it runs:

======================================  ================================================
the route does                          it is written, and runs
======================================  ================================================
anything that may wait (most writes,    ``def``: FastAPI runs the whole route in a worker
blob reads, webhook sends, GC)          thread; the default, when in doubt
reads of the metadata, and nothing      ``async def``, calling the service through
else (the hot paths: resolve, get,      ``reading``: in place on SQLite (``Database.
list; the token check of every          inline_reads``: a read never waits, it is a page
request)                                cache lookup), in a thread on PostgreSQL
a read that may write an override to    ``async def`` + ``gated``: as ``reading``; in a
the audit log (``Cairn-Override``)      thread when an override was asked for
a small, bounded write on a hot path    ``async def`` + ``writing(small=…)``: in place when
(a registration of a few files)         ``Services.inline_writes`` (everything local, one
                                        worker) and no other writer holds the database,
                                        in a thread otherwise (``WriterBusy``)
a request body of blob bytes            ``async def`` + ``streams.consume_body``: the loop
                                        reads the body, the service consumes it in a thread
any other blocking call in an           ``await run_in_threadpool(call, …)``, never a
``async def`` route                     direct call
work with no I/O at all (the server's   ``async def``, in place
proof of identity: an HMAC with a key
held in memory)
======================================  ================================================

Downloads stream their chunks from a worker thread too (Starlette iterates a plain iterator
of a ``StreamingResponse`` in its thread pool). Nothing else decides: a blocking call made
directly in an ``async def`` route is a bug, however fast it looks on SQLite
(``tests/unit/api/test_running.py`` looks for one in every route).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from starlette.concurrency import run_in_threadpool

from cairn.services.container import Services
from cairn.services.uow import WriterBusy

P = ParamSpec("P")
T = TypeVar("T")


async def reading(svc: Services, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a read of the registry: in place when the database says its reads never wait
    (embedded SQLite), in a worker thread otherwise."""
    if svc.db.inline_reads:
        return call(*args, **kwargs)
    return await run_in_threadpool(call, *args, **kwargs)


async def gated(svc: Services, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """A read that may write an override to the audit log: in a worker thread when it might
    (a write may wait for the database's lock), as any read otherwise."""
    if kwargs.get("override") is None:
        return await reading(svc, call, *args, **kwargs)
    return await run_in_threadpool(call, *args, **kwargs)


async def writing(
    svc: Services, small: bool, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run a write of the registry: in place when it is ``small`` (bounded work, no large
    blob reads) and ``Services.inline_writes`` says everything it touches is local, unless it
    would have to wait for another writer; in a worker thread otherwise. In place, the loop
    waits out the commit's fsync (a fraction of a millisecond on local disk) but saves the
    hand-off to a thread and back, which costs more CPU than a small registration itself.
    A write that meets a writer of another process, or one of this process that does not
    finish within ``SHORT_WAIT_SECONDS``, stops before doing anything (``WriterBusy``) and
    runs again in a thread, where waiting blocks no other request."""
    if small and svc.inline_writes:
        try:
            with svc.db.without_waiting():
                return call(*args, **kwargs)
        except WriterBusy:
            pass
    return await run_in_threadpool(call, *args, **kwargs)
