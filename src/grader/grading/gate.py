"""The judge gate: single answers go before transcript answers at the judge.

The judge is the one scarce resource shared by ``POST /v1/grade`` (the API's
:class:`~grader.api.pool.GradingPool`) and the transcript job runner
(:mod:`grader.transcripts.jobs`).  The local judge runs one answer at a time
behind a lock, so without an order a single answer could wait behind every job
answer queued at that lock.  :class:`JudgeGate` sits in front of every judge
call (``Grader._grade``) and decides who goes next:

* There are two lanes.  A call is in the *interactive* lane unless its thread
  is inside :meth:`JudgeGate.background`, which the transcript grader
  (:func:`grader.transcripts.grade.grade_items`) enters for each answer.
* A judge that can only run ``n`` answers at once says so with an optional
  ``max_parallel_calls = n`` attribute (the local judge: 1).  The gate then
  admits at most ``n`` calls, and when a slot frees an interactive waiter
  always takes it first; a background call starts only while no interactive
  call waits.  An interactive answer therefore waits for at most the judge
  calls already running (one job answer with the local judge), never for the
  job answers queued behind them.
* A judge without the attribute (remote servers, which bound their own
  requests, and the plain fakes) is not limited: the gate only counts.

Background calls can wait as long as interactive calls keep coming: a steady
stream of single answers (bounded by ``GRADER_MAX_QUEUE``) pauses the jobs, which
resume when it stops.  The interactive share of the judge is what is guaranteed,
not the jobs'.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class GateState:
    """What the gate holds now: calls at the judge and calls waiting, per lane."""

    capacity: int | None
    running: int
    interactive_waiting: int
    background_waiting: int


class JudgeGate:
    """A two-lane priority semaphore of ``capacity`` slots (None: no limit, counting only)."""

    def __init__(self, capacity: int | None = None) -> None:
        if capacity is not None and capacity < 1:
            raise ValueError(f"a judge gate needs at least one slot, got {capacity}")
        self.capacity = capacity
        self._cond = threading.Condition()
        self._lane = threading.local()
        self._running = 0
        self._waiting = {"interactive": 0, "background": 0}

    @contextmanager
    def background(self) -> Iterator[None]:
        """Judge calls made by this thread inside the block yield to interactive ones."""
        before = getattr(self._lane, "background", False)
        self._lane.background = True
        try:
            yield
        finally:
            self._lane.background = before

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one judge slot for the block, waiting in this thread's lane."""
        lane = "background" if getattr(self._lane, "background", False) else "interactive"
        with self._cond:
            self._waiting[lane] += 1
            try:
                self._cond.wait_for(lambda: self._may_start(lane))
            finally:
                self._waiting[lane] -= 1
                if lane == "interactive":  # background calls may be free to start now
                    self._cond.notify_all()
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()

    def _may_start(self, lane: str) -> bool:
        if self.capacity is None:
            return True
        if self._running >= self.capacity:
            return False
        return lane == "interactive" or self._waiting["interactive"] == 0

    def state(self) -> GateState:
        with self._cond:
            return GateState(
                self.capacity,
                self._running,
                self._waiting["interactive"],
                self._waiting["background"],
            )
