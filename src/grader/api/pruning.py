"""Keeping the result cache and the Idempotency-Keys within their limits.

:func:`prune_stores` applies the retention settings (``GRADER_RESULT_CACHE_TTL_DAYS``,
``GRADER_RESULT_CACHE_MAX_MB``, ``GRADER_IDEMPOTENCY_TTL_HOURS``,
``GRADER_IDEMPOTENCY_MAX_MB``) to both stores; ``grader cache prune`` calls it once, and
the API's lifespan runs :class:`BackgroundPruning`, which calls it every
``GRADER_PRUNE_INTERVAL_SECONDS`` in a worker thread, so requests never wait on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from grader.api.idempotency import IdempotencyStore
from grader.config import StorageSettings
from grader.grading.result_cache import ResultStore
from grader.storage.retention import Limits, Pruned

log = logging.getLogger("grader.api.pruning")

MB = 2**20


def result_limits(storage: StorageSettings) -> Limits:
    return Limits(storage.result_cache_ttl_days * 86_400, int(storage.result_cache_max_mb * MB))


def prune_stores(
    results: ResultStore, idempotency: IdempotencyStore, storage: StorageSettings
) -> list[Pruned]:
    """Prune both stores once; what each lost and its size before and after."""
    return [
        results.prune(result_limits(storage)),
        idempotency.prune(int(storage.idempotency_max_mb * MB)),
    ]


class BackgroundPruning:
    """``prune_stores`` at once and then every ``interval`` seconds, until ``stop``.

    ``stop`` lets a round in progress finish (the stores are closed after it).
    """

    def __init__(
        self, results: ResultStore, idempotency: IdempotencyStore, storage: StorageSettings
    ) -> None:
        self.results = results
        self.idempotency = idempotency
        self.storage = storage
        self.runs = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> BackgroundPruning:
        self._task = asyncio.create_task(self._loop(), name="grader-pruning")
        return self

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                pruned = await asyncio.to_thread(
                    prune_stores, self.results, self.idempotency, self.storage
                )
            except Exception:  # a failed round is logged and tried again next time
                log.exception("pruning the result cache and Idempotency-Keys failed")
            else:
                self.runs += 1
                _log(pruned)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(), timeout=self.storage.prune_interval_seconds
                )


def _log(pruned: list[Pruned]) -> None:
    for p in pruned:
        if p.removed:
            log.info(
                "pruned %s: %d expired, %d over the size cap; %d rows, %.1f MB left",
                p.table,
                p.expired,
                p.over_cap,
                p.after.rows,
                p.after.bytes / MB,
                extra={
                    "fields": {
                        "table": p.table,
                        "expired": p.expired,
                        "over_cap": p.over_cap,
                        "rows": p.after.rows,
                        "bytes": p.after.bytes,
                    }
                },
            )
