"""One private event loop per process for remote judges, and their shared limits.

The async client, its connection pool and the concurrency semaphores are all
bound to this loop, so they are shared safely by every caller: synchronous
callers (``Judge.judge`` from any thread) block on a future, and async
callers on another loop await a wrapped future.  The loop runs in a daemon
thread started on first use.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_semaphores: dict[tuple[str, int], asyncio.Semaphore] = {}
_pid = os.getpid()  # a forked child has no loop thread: it starts its own


def loop() -> asyncio.AbstractEventLoop:
    """The private loop, started on first use."""
    global _loop, _thread, _pid
    with _lock:
        if _pid != os.getpid():
            _loop, _thread, _pid = None, None, os.getpid()
            _semaphores.clear()
        if _loop is None or not _loop.is_running():
            new = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(new)
                new.call_soon(ready.set)
                new.run_forever()

            _thread = threading.Thread(target=run, name="grader-judge-loop", daemon=True)
            _thread.start()
            ready.wait()
            _loop = new
        return _loop


def in_loop_thread() -> bool:
    return _thread is not None and threading.current_thread() is _thread


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the private loop and wait for it (from any other thread)."""
    if in_loop_thread():
        coro.close()
        raise RuntimeError("run_sync() called from the judge loop itself; await the coroutine")
    return asyncio.run_coroutine_threadsafe(coro, loop()).result()


async def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` on the private loop from any event loop."""
    if in_loop_thread():
        return await coro
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop()))


def semaphore(endpoint: str, limit: int) -> asyncio.Semaphore:
    """The process-wide semaphore for ``endpoint`` (one per endpoint and limit).

    Must be called on the private loop (semaphores bind to the loop that first
    waits on them).
    """
    key = (endpoint, limit)
    sem = _semaphores.get(key)
    if sem is None:
        sem = _semaphores[key] = asyncio.Semaphore(limit)
    return sem
