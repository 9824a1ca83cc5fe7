"""Prometheus metrics of one app (own registry, so several apps can live in one process).

:class:`Metrics` holds the collectors: the request middleware and the grade route
record into it, ``GET /metrics`` (:mod:`grader.api.metrics`) renders it in the
Prometheus text format.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from grader.api.pool import GradingPool
from grader.models import GradeResult

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """The collectors of one app, in their own registry."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "grader_http_requests",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "grader_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.grades = Counter(
            "grader_grades", "Answers graded, by result status.", ["status"], registry=r
        )
        self.grade_seconds = Histogram(
            "grader_grade_duration_seconds",
            "Time spent grading one answer (pipeline only, queue excluded).",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.judge_calls = Counter(
            "grader_judge_calls", "Calls to the judge model (one per probe).", registry=r
        )
        self.cache_hits = Counter("grader_cache_hits", "Grades served from the cache.", registry=r)
        self.idempotent_replays = Counter(
            "grader_idempotent_replays", "Responses replayed for an Idempotency-Key.", registry=r
        )
        self.rejected = Counter(
            "grader_queue_rejections", "Requests refused with 503 (queue full).", registry=r
        )
        self.in_flight = Gauge(
            "grader_queue_in_flight", "Answers being graded or waiting.", registry=r
        )
        self.max_queue = Gauge("grader_queue_capacity", "GRADER_MAX_QUEUE.", registry=r)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_grade(self, result: GradeResult, seconds: float) -> None:
        self.grades.labels(result.status).inc()
        if result.usage.cache_hit:
            self.cache_hits.inc()
        else:
            self.grade_seconds.observe(seconds)
            self.judge_calls.inc(result.usage.judge_calls)

    def render(self, pool: GradingPool | None) -> bytes:
        if pool is not None:
            self.in_flight.set(pool.in_flight)
            self.max_queue.set(pool.max_queue)
        return generate_latest(self.registry)
