"""Prometheus metrics of one app (own registry, so several apps can live in one process).

:class:`Metrics` holds the collectors: the request middleware and the grade route
record into it, ``GET /metrics`` (:mod:`grader.api.metrics`) renders it in the
Prometheus text format.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from grader.api.pool import GradingPool
from grader.grading.gate import GateState
from grader.models import GradeResult
from grader.transcripts.admission import BacklogState

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
        self.jobs = _JobCollector()
        r.register(self.jobs)

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

    def render(
        self,
        pool: GradingPool | None,
        backlog: BacklogState | None = None,
        gate: GateState | None = None,
    ) -> bytes:
        if pool is not None:
            self.in_flight.set(pool.in_flight)
            self.max_queue.set(pool.max_queue)
        self.jobs.backlog, self.jobs.gate = backlog, gate
        return generate_latest(self.registry)


class _JobCollector:
    """Transcript jobs' backlog and the judge's lanes, read when the metrics are rendered."""

    def __init__(self) -> None:
        self.backlog: BacklogState | None = None
        self.gate: GateState | None = None

    def collect(self) -> Iterator[Metric]:
        b, g = self.backlog, self.gate
        if b is not None:
            yield _gauge(
                "grader_job_answers_queued",
                "Answers still to grade in jobs.",
                None,
                {"": b.answers_queued},
            )
            yield _gauge(
                "grader_jobs",
                "Transcript jobs by status.",
                "status",
                {"queued": b.jobs_queued, "running": b.jobs_running},
            )
            yield _gauge(
                "grader_job_answers_capacity",
                "GRADER_MAX_JOB_ANSWERS (total) and GRADER_MAX_JOB_ANSWERS_PER_KEY (per_key).",
                "scope",
                {"total": b.max_answers, "per_key": b.max_answers_per_key},
            )
            rejected = CounterMetricFamily(
                "grader_job_rejections",
                "POST /v1/transcripts refused: per_key (429) or backlog_full (503).",
                labels=["reason"],
            )
            rejected.add_metric(["per_key"], b.rejected_per_key)
            rejected.add_metric(["backlog_full"], b.rejected_total)
            yield rejected
        if g is not None:
            yield _gauge(
                "grader_judge_waiting",
                "Judge calls waiting, by lane.",
                "lane",
                {"interactive": g.interactive_waiting, "jobs": g.background_waiting},
            )


def _gauge(name: str, doc: str, label: str | None, values: dict[str, float]) -> Metric:
    """A gauge family: one sample per label value (``{"": v}`` when unlabelled)."""
    family = GaugeMetricFamily(name, doc, labels=[label] if label else None)
    for value, sample in values.items():
        family.add_metric([value] if label else [], sample)
    return family
