"""Run the grader over a labelled dataset, resumably.

Every graded answer is appended to ``OUT_DIR/results.jsonl`` as soon as it is
done (one :class:`RunRecord`: item id, config hash, the human judgement, the
GradeResult and the wall time).  A rerun with the same configuration hash
skips answers already graded or short-circuited; ungraded ones are retried.
``OUT_DIR/run.json`` records what was run (:class:`RunMeta`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from grader.bank.loader import load_bank
from grader.errors import DatasetError, GraderError
from grader.evaluation.configs import EvalConfig
from grader.evaluation.datasets import load_dataset
from grader.evaluation.labelled import Dataset, LabelledAnswer
from grader.evaluation.records import HumanJudgement, RunMeta, RunRecord
from grader.models import GradeResult

if TYPE_CHECKING:
    from grader.grading.pipeline import Grader

log = logging.getLogger(__name__)
RESULTS = "results.jsonl"
RUN = "run.json"
BANDS = (2.0, 5.0, 8.0)  # score bands on 0-10 used for stratified sampling

Progress = Callable[[int, int, str], None]  # (done, total, message)


# --------------------------------------------------------------------------- sampling


def _stratum(item: LabelledAnswer) -> tuple[str, str]:
    if item.human10 is None:
        return item.question_id, f"label:{item.label}"
    band = sum(1 for edge in BANDS if item.human10 > edge)
    return item.question_id, f"band:{band}"


def stratified_sample(items: list[LabelledAnswer], n: int, seed: int) -> list[LabelledAnswer]:
    """``n`` items in proportion to every (question, score band) stratum; seeded.

    Quotas are rounded by largest remainder, so the sample has exactly ``n`` items
    (all of them when ``n >= len(items)``), kept in dataset order.
    """
    if n >= len(items):
        return list(items)
    rng = np.random.default_rng(seed)
    strata: dict[tuple[str, str], list[int]] = {}
    for i, item in enumerate(items):
        strata.setdefault(_stratum(item), []).append(i)
    keys = sorted(strata)
    exact = np.array([n * len(strata[k]) / len(items) for k in keys])
    quota = np.floor(exact).astype(int)
    rest = n - int(quota.sum())
    jitter = rng.random(len(keys)) * 1e-9  # seeded tie-break between equal remainders
    for j in np.argsort(-(exact - quota + jitter))[:rest]:
        quota[j] += 1
    chosen: list[int] = []
    for key, q in zip(keys, quota, strict=True):
        members = strata[key]
        chosen += [members[i] for i in rng.permutation(len(members))[:q]]
    return [items[i] for i in sorted(chosen)]


# --------------------------------------------------------------------------- records


def human_record(item: LabelledAnswer) -> HumanJudgement:
    return HumanJudgement(
        score10=item.human10,
        max_score=item.max_score,
        graders10=item.graders10() or None,
        label=item.label,
        criteria=item.criteria,
        category=item.category,
    )


def read_records(out_dir: Path) -> list[RunRecord]:
    """Every well-formed record of results.jsonl (a torn last line is skipped)."""
    path = out_dir / RESULTS
    if not path.is_file():
        return []
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            out.append(RunRecord.model_validate_json(line))
        except ValidationError:
            log.warning("%s:%d: skipping a malformed record (interrupted write?)", path, n)
    return out


def current_records(out_dir: Path, config_hash: str) -> dict[str, RunRecord]:
    """The latest record per item for this configuration."""
    latest: dict[str, RunRecord] = {}
    for rec in read_records(out_dir):
        if rec.config_hash == config_hash:
            latest[rec.item_id] = rec
    return latest


# --------------------------------------------------------------------------- run


@dataclass
class RunOutcome:
    out_dir: Path
    dataset: Dataset
    config: EvalConfig
    config_hash: str
    records: list[RunRecord]
    graded_now: int
    skipped: int
    load_seconds: float
    meta: RunMeta


def _grade_one(
    grader: Grader, item: LabelledAnswer
) -> tuple[GradeResult | None, str | None, float]:
    t = time.perf_counter()
    try:
        result = grader.grade(item.question_id, item.answer)
    except GraderError as exc:  # a bad item is ungraded with its reason, never a crash
        return None, f"{type(exc).__name__}: {exc}", time.perf_counter() - t
    return result, None, time.perf_counter() - t


def run_eval(
    dataset_spec: str,
    config: EvalConfig,
    out_dir: Path,
    *,
    sample: int | None = None,
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> RunOutcome:
    """Grade (the sample of) a dataset with one configuration; resume from ``out_dir``."""
    from grader.grading.pipeline import Grader
    from grader.grading.result_cache import ResultStore

    settings = config.settings(**(overrides or {}))
    bank = load_bank(settings.bank_dir) if _needs_bank(dataset_spec) else None
    dataset = load_dataset(dataset_spec, settings.datasets_dir, bank)
    items = stratified_sample(dataset.items, sample, seed) if sample else dataset.items
    grader = Grader(settings, bank=dataset.bank or bank, store=ResultStore(":memory:"))
    out_dir.mkdir(parents=True, exist_ok=True)
    done = current_records(out_dir, grader.config_hash)
    todo = [i for i in items if i.id not in done or done[i.id].status == "ungraded"]
    meta = _meta(dataset_spec, dataset, config, grader, sample, seed, items)
    (out_dir / RUN).write_text(json.dumps(meta.to_json(), indent=2) + "\n", encoding="utf-8")
    for k, (item, record) in enumerate(_grade_all(grader, todo, out_dir / RESULTS), 1):
        done[item.id] = record
        if progress:
            progress(k, len(todo), item.id)
    records = [done[i.id] for i in items if i.id in done]
    return RunOutcome(
        out_dir,
        dataset,
        config,
        grader.config_hash,
        records,
        len(todo),
        len(items) - len(todo),
        grader.load_seconds,
        meta,
    )


def _grade_all(
    grader: Grader, todo: list[LabelledAnswer], path: Path
) -> Iterator[tuple[LabelledAnswer, RunRecord]]:
    """Grade each item and append its record at once (an interrupted run loses one answer)."""
    if path.is_file() and path.stat().st_size and not path.read_bytes().endswith(b"\n"):
        with path.open("a", encoding="utf-8") as sink:  # end a torn last line first
            sink.write("\n")
    with path.open("a", encoding="utf-8") as sink:
        for item in todo:
            result, error, seconds = _grade_one(grader, item)
            record = _record(grader.config_hash, item, result, error, seconds)
            sink.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
            sink.flush()
            yield item, record


def _record(
    config_hash: str,
    item: LabelledAnswer,
    result: GradeResult | None,
    error: str | None,
    seconds: float,
) -> RunRecord:
    return RunRecord(
        item_id=item.id,
        question_id=item.question_id,
        config_hash=config_hash,
        human=human_record(item),
        result=result.model_dump(mode="json") if result else None,
        error=error,
        seconds=round(seconds, 4),
    )


def _needs_bank(spec: str) -> bool:
    return spec.partition(":")[0] not in ("mohler", "semeval-scientsbank", "semeval-beetle")


def _meta(
    spec: str,
    dataset: Dataset,
    config: EvalConfig,
    grader: Grader,
    sample: int | None,
    seed: int,
    items: list[LabelledAnswer],
) -> RunMeta:
    return RunMeta(
        dataset=spec,
        dataset_name=dataset.name,
        dataset_size=len(dataset.items),
        scale=dataset.scale,
        notes=dataset.notes,
        config=config.name,
        config_description=config.description,
        overrides={k: str(v) for k, v in config.overrides.items()},
        config_hash=grader.config_hash,
        judge=grader.judge.name if grader.judge else None,
        embedder=grader.embedder.name,
        calibration=grader.calibration.name if grader.calibration else None,
        bank_hash=grader.bank.content_hash,
        sample=sample,
        seed=seed,
        item_ids=[i.id for i in items],
        load_seconds=grader.load_seconds,
        started=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )


def load_run(out_dir: Path) -> tuple[list[RunRecord], RunMeta]:
    """The records of a finished (or interrupted) run and its run.json, for re-reporting."""
    meta_path = out_dir / RUN
    if not meta_path.is_file():
        raise DatasetError(f"{meta_path} not found: {out_dir} is not a `grader eval` run directory")
    try:
        meta = RunMeta.model_validate_json(meta_path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise DatasetError(f"{meta_path} is not a `grader eval` run.json: {exc}") from None
    latest = current_records(out_dir, meta.config_hash)
    records = [latest[i] for i in meta.item_ids if i in latest]
    return records, meta
