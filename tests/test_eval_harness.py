"""`grader eval`: stratified sampling, resumable runs, reports, comparison, calibration."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import REPO, TINY_BANK
from grader.cli.main import app
from grader.errors import ConfigError
from grader.evaluation.configs import load_config
from grader.evaluation.harness import RESULTS, run_eval, stratified_sample
from grader.evaluation.labelled import LabelledAnswer
from grader.grading.score_calibration import load_calibration

DROPOUT = [
    ("Dropout randomly sets a fraction of activations to zero during training. It is active "
     "only during training and disabled at inference. It prevents co-adaptation of units.", 10),
    ("Dropout randomly sets a fraction of activations to zero during training.", 4),
    ("Dropout is only active during training and disabled at inference time.", 3),
    ("Dropout removes neurons so the network overfits less.", 2),
    ("", 0),
    ("Dropout prevents co-adaptation and acts like averaging many thinned networks.", 3),
]  # fmt: skip
POOLING = [
    ("Pooling reduces the spatial size of feature maps and cuts computation. It gives "
     "invariance to small translations. Max pooling and average pooling are common.", 10),
    ("Pooling reduces the spatial size of feature maps.", 4),
    ("Max pooling and average pooling are the two common kinds.", 3),
    ("Pooling makes pictures look nicer for humans to read.", 0),
]  # fmt: skip


def dataset(tmp_path: Path, copies: int = 1) -> Path:
    rows = [
        {"id": f"d{i}-{k}", "question_id": "q01-dropout", "answer": a + " " * k, "score": s}
        for i, (a, s) in enumerate(DROPOUT)
        for k in range(copies)
    ] + [
        {"id": f"p{i}-{k}", "question_id": "q02-pooling", "answer": a + " " * k, "score": s}
        for i, (a, s) in enumerate(POOLING)
        for k in range(copies)
    ]
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def config(tmp_path: Path, name: str = "fake", **extra: object) -> Path:
    lines = [
        "description: fake embedder and fake judge",
        "embedder: fake",
        f"judge: {extra.pop('judge', 'fake')}",
        f"bank_dir: {TINY_BANK}",
        f"cache_dir: {tmp_path / 'cache'}",
        *[f"{k}: {v}" for k, v in extra.items()],
    ]
    path = tmp_path / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def lines(run: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in (run / RESULTS).read_text().splitlines() if x.strip()]


# --------------------------------------------------------------------------- sampling


def items(n_per: int) -> list[LabelledAnswer]:
    return [
        LabelledAnswer(id=f"{q}-{i}", question_id=q, answer="a", score=float(i % 11))
        for q in ("q1", "q2", "q3")
        for i in range(n_per)
    ]


def test_stratified_sample_has_exact_size_and_keeps_proportions() -> None:
    pool = items(40)
    picked = stratified_sample(pool, 30, seed=1)
    assert len(picked) == 30 and len({i.id for i in picked}) == 30
    assert Counter(i.question_id for i in picked) == {"q1": 10, "q2": 10, "q3": 10}
    low = sum(1 for i in picked if (i.human10 or 0) <= 2)
    assert 6 <= low <= 10  # 3/11 of the pool is <= 2, i.e. ~8 of 30
    assert [i.id for i in picked] == [i.id for i in pool if i in picked]  # dataset order


def test_stratified_sample_is_seeded() -> None:
    pool = items(40)
    ids = [i.id for i in stratified_sample(pool, 25, seed=3)]
    assert ids == [i.id for i in stratified_sample(pool, 25, seed=3)]
    assert ids != [i.id for i in stratified_sample(pool, 25, seed=4)]
    assert stratified_sample(pool, 500, seed=0) == pool


# --------------------------------------------------------------------------- configs


def test_repository_configs_load() -> None:
    assert load_config("prefilter-only").overrides == {"judge": "similarity"}
    cal = load_config("local-calibrated").overrides["calibration_path"]
    assert Path(cal) == REPO / "evals" / "calibration" / "local-nn46.json"


def test_unknown_config_and_unknown_setting_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="prefilter-only"):
        load_config("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("judge: fake\njduge: local\n")
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['jduge'\]"):
        load_config(str(bad))
    worse = tmp_path / "worse.yaml"
    worse.write_text("judge: gpt\n")
    with pytest.raises(ConfigError, match="GRADER_JUDGE"):
        load_config(str(worse))


# --------------------------------------------------------------------------- end to end


def test_eval_run_writes_reports_and_counts_every_answer(tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["eval", str(dataset(tmp_path)), "--config", str(config(tmp_path)), "--out", str(run)]
    result = CliRunner().invoke(app, [*args, "--bootstrap", "50"])
    assert result.exit_code == 0, result.output
    assert {"results.jsonl", "run.json", "metrics.json", "report.md", "report.html"} <= {
        p.name for p in run.iterdir()
    }
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["counts"]["answers"] == 10
    assert metrics["counts"]["short_circuited"] >= 1  # the empty answer
    assert metrics["scores"]["grader"]["n"] == 10
    assert metrics["scores"]["grader"]["pearson"] > 0.5  # the fake judge tracks word overlap
    assert {q["question_id"] for q in metrics["per_question"]} == {"q01-dropout", "q02-pooling"}
    assert metrics["prefilter"]["errors"] == 0
    html = (run / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 3 and "<table>" in html
    assert "| grader vs human | 10 |" in (run / "report.md").read_text()


def test_rerun_skips_graded_answers_and_resumes_an_interrupted_run(tmp_path: Path) -> None:
    data, cfg, run = dataset(tmp_path), load_config(str(config(tmp_path))), tmp_path / "run"
    first = run_eval(str(data), cfg, run)
    assert first.graded_now == 10 and first.skipped == 0
    again = run_eval(str(data), cfg, run)
    assert again.graded_now == 0 and again.skipped == 10 and len(lines(run)) == 10
    kept = (run / RESULTS).read_text().splitlines()[:6]
    (run / RESULTS).write_text("\n".join(kept) + "\n" + kept[6 - 1][:40])  # torn last line
    resumed = run_eval(str(data), cfg, run)
    assert resumed.graded_now == 4 and len(resumed.records) == 10
    assert [r.result and r.result["score"] for r in resumed.records] == [
        r.result and r.result["score"] for r in first.records
    ]


def test_a_changed_configuration_grades_again(tmp_path: Path) -> None:
    data, run = dataset(tmp_path), tmp_path / "run"
    run_eval(str(data), load_config(str(config(tmp_path))), run)
    other = load_config(str(config(tmp_path, "other", met_probability=0.7)))
    assert run_eval(str(data), other, run).graded_now == 10


def test_ungraded_answers_are_excluded_and_counted(tmp_path: Path) -> None:
    cfg = config(tmp_path, judge="fake:fail")
    run = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["eval", str(dataset(tmp_path)), "-c", str(cfg), "--out", str(run), "--bootstrap", "0"]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    counts = metrics["counts"]
    assert counts["ungraded"] + counts["short_circuited"] == 10 and counts["graded"] == 0
    assert metrics["scores"]["grader"]["n"] == counts["short_circuited"]
    assert any("(judge_failed)" in k for k in counts["ungraded_reasons"])


def test_two_configs_compare_in_one_table_and_calibrate(tmp_path: Path) -> None:
    data, out = dataset(tmp_path, copies=2), tmp_path / "runs"
    a, b = config(tmp_path, "fake-a"), config(tmp_path, "fake-b", met_probability=0.8)
    result = CliRunner().invoke(
        app,
        ["eval", str(data), "-c", str(a), "-c", str(b), "--out", str(out), "--bootstrap", "20"],
    )
    assert result.exit_code == 0, result.output
    table = (out / "compare.md").read_text()
    assert "| fake-a |" in table and "| fake-b |" in table
    again = CliRunner().invoke(app, ["eval", "compare", str(out / "fake-a"), str(out / "fake-b")])
    assert again.exit_code == 0 and "fake-a" in again.output
    cal = tmp_path / "cal.json"
    fitted = CliRunner().invoke(app, ["eval", "calibrate", str(out / "fake-a"), "--out", str(cal)])
    assert fitted.exit_code == 0, fitted.output
    assert load_calibration(cal).n == 18  # 20 answers, 2 empty ones short-circuited


def test_calibrate_refuses_too_few_graded_answers(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run_eval(str(dataset(tmp_path)), load_config(str(config(tmp_path))), run)
    result = CliRunner().invoke(app, ["eval", "calibrate", str(run), "--out", str(tmp_path / "c")])
    assert "at least 10 graded answers, got 9" in str(result.exception)


def test_report_is_rebuilt_from_the_run_directory(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run_eval(str(dataset(tmp_path)), load_config(str(config(tmp_path))), run)
    result = CliRunner().invoke(app, ["eval", "report", str(run), "--bootstrap", "10"])
    assert result.exit_code == 0, result.output
    assert json.loads((run / "metrics.json").read_text())["counts"]["answers"] == 10


@pytest.mark.models
def test_similarity_judge_with_the_real_embedder_on_nn46(tmp_path: Path) -> None:
    run = tmp_path / "run"
    cfg = tmp_path / "po.yaml"
    cfg.write_text(f"judge: similarity\nembedder: sentence-transformers\ncache_dir: {tmp_path}\n")
    result = CliRunner().invoke(
        app,
        ["eval", "nn46", "-c", str(cfg), "--sample", "12", "--out", str(run), "--bootstrap", "20"],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["counts"]["answers"] == 12 and metrics["counts"]["ungraded"] == 0
    assert metrics["meta"]["judge"].startswith("similarity")
    assert metrics["criteria"]["overall"]["n"] > 12
    assert metrics["scores"]["grader"]["pearson"] > 0.2
