"""A bounded pool that runs CPU-bound grading off the event loop.

At most ``max_queue`` answers are admitted at a time (running + waiting).  When
the pool is full, :meth:`GradingPool.run` raises :class:`OverloadedError` at once
with a ``retry_after`` hint instead of letting requests pile up; the API turns it
into 503 with a ``Retry-After`` header.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from grader.errors import OverloadedError

T = TypeVar("T")

_MAX_RETRY_AFTER = 300


class GradingPool:
    """Thread pool with admission control.  ``run`` must be awaited on the event loop."""

    def __init__(self, workers: int, max_queue: int) -> None:
        self.workers = workers
        self.max_queue = max_queue
        self.in_flight = 0  # admitted and not finished; touched on the event loop only
        self.rejected = 0
        self.mean_seconds = 1.0  # moving average of one job's run time, for Retry-After
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="grader-api")

    def retry_after(self) -> int:
        """Seconds until a slot is likely free: the queue ahead divided among the workers."""
        waves = max(1, math.ceil(self.in_flight / self.workers))
        return min(_MAX_RETRY_AFTER, max(1, math.ceil(waves * self.mean_seconds)))

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(*args)`` in a worker thread, or raise OverloadedError if the pool is full."""
        if self.in_flight >= self.max_queue:
            self.rejected += 1
            raise OverloadedError(
                f"the grading queue is full ({self.in_flight} answers in progress, "
                f"GRADER_MAX_QUEUE={self.max_queue}); retry after {self.retry_after()} s",
                retry_after=self.retry_after(),
            )
        loop = asyncio.get_running_loop()
        self.in_flight += 1
        # The worker runs in a copy of this context: the request id reaches its log lines.
        context = contextvars.copy_context()
        future: Future[T] = self._executor.submit(context.run, self._timed, fn, *args)

        def done(_: Future[T]) -> None:
            # Free the slot when the job really ends, even if the caller went away meanwhile.
            with contextlib.suppress(RuntimeError):  # the loop is closed at shutdown
                loop.call_soon_threadsafe(self._release)

        future.add_done_callback(done)
        return await asyncio.wrap_future(future)

    def _timed(self, fn: Callable[..., T], *args: object) -> T:
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            elapsed = time.perf_counter() - t0
            self.mean_seconds = 0.8 * self.mean_seconds + 0.2 * elapsed

    def _release(self) -> None:
        self.in_flight -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
