"""Bounded memory and storage: the term cache's byte limit, pruning by age and size, and
``grader cache prune | stats`` on a real database file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import TINY_BANK
from grader.api.idempotency import IdempotencyStore
from grader.grading.result_cache import ResultStore
from grader.models import GradeResult, Provenance
from grader.storage import GRADER_DB, Database, Schema
from grader.storage.retention import Limits, file_bytes
from grader.text import TERM_CACHE, TermCache, content_terms

GRADER = Path(sys.executable).parent / "grader"
DAY = 86_400.0


def text(i: int, chars: int) -> str:
    """A distinct text of about ``chars`` characters with many distinct terms."""
    words = [f"term{i}x{j:05d}" for j in range(chars // 12 + 1)]
    return " ".join(words)[:chars]


def result(question_id: str = "q01-dropout") -> GradeResult:
    provenance = Provenance(
        bank_hash="b",
        rubric_version=1,
        prompt_version="p",
        embedder="fake",
        judge="fake",
        seed=0,
        config_hash="c",
    )
    return GradeResult(
        question_id=question_id,
        question_number=1,
        status="graded",
        score=1.0,
        max_score=2.0,
        provenance=provenance,
    )


def age(db: Database, table: str, key: str, seconds: float) -> None:
    db.execute(f"UPDATE {table} SET created = ? WHERE key = ?", (time.time() - seconds, key))


def keys(db: Database, table: str) -> set[str]:
    return {row[0] for row in db.query(f"SELECT key FROM {table}")}


# ------------------------------------------------------------------------ the term cache


def test_the_term_cache_stays_under_its_byte_limit_after_many_big_texts() -> None:
    cache = TermCache(max_bytes=1_000_000, max_text_chars=10_000)
    for i in range(400):
        t = text(i, 9_000)
        cache.put(t, frozenset(t.split()))
        assert cache.bytes <= cache.max_bytes
    assert 0 < len(cache) < 400  # it kept the newest that fit, not every text


def test_the_term_cache_evicts_the_least_recently_used() -> None:
    cache = TermCache(max_bytes=200_000, max_text_chars=10_000)
    rubric = "the rubric criterion text"
    cache.put(rubric, frozenset({"rubri"}))
    for i in range(200):
        cache.put(text(i, 2_000), frozenset({str(i)}))
        assert cache.get(rubric) is not None  # used for every answer: never the oldest
    assert cache.get(text(0, 2_000)) is None


def test_content_terms_caches_no_answer_sized_text() -> None:
    before = (len(TERM_CACHE), TERM_CACHE.bytes)
    for i in range(50):
        big = text(i, 20_000)
        assert content_terms(big) == content_terms(big)  # right, twice, and not kept
    assert (len(TERM_CACHE), TERM_CACHE.bytes) == before
    assert TERM_CACHE.get(text(0, 20_000)) is None
    short = "Normalisation of gradients"  # rubric-sized: kept
    terms = content_terms(short)
    assert TERM_CACHE.get(short) == terms == {"norma", "gradi"}


def test_content_terms_stays_under_the_module_limit() -> None:
    for i in range(300):
        content_terms(text(i, TERM_CACHE.max_text_chars))
    assert TERM_CACHE.bytes <= TERM_CACHE.max_bytes


# ------------------------------------------------------------------------------- pruning


def test_prune_removes_expired_results_and_keeps_fresh_ones(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "grader.db")
    for key in ("old-1", "old-2", "fresh"):
        store.save(key, result())
    age(store.database, "results", "old-1", 3 * DAY)
    age(store.database, "results", "old-2", 2 * DAY)
    pruned = store.prune(Limits(max_age_seconds=DAY, max_bytes=10**9))
    assert (pruned.expired, pruned.over_cap) == (2, 0)
    assert keys(store.database, "results") == {"fresh"}
    assert (pruned.before.rows, pruned.after.rows) == (3, 1)
    assert store.get("fresh") is not None


def test_prune_removes_the_oldest_results_over_the_size_cap(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "grader.db")
    for i in range(10):
        store.save(f"k{i}", result())
        age(store.database, "results", f"k{i}", 100 - i)  # k9 is the newest
    row = store.size().bytes // 10
    pruned = store.prune(Limits(max_age_seconds=DAY, max_bytes=int(3.5 * row)))
    assert (pruned.expired, pruned.over_cap) == (0, 7)
    assert keys(store.database, "results") == {"k7", "k8", "k9"}
    assert pruned.after.bytes <= 3.5 * row
    assert store.prune(Limits(DAY, int(3.5 * row))).removed == 0  # nothing more to do


def test_prune_in_more_than_one_batch(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "grader.db")
    with store.database.transaction() as c:
        c.executemany(
            "INSERT INTO results(key, question_id, config_hash, result, created, size) "
            "VALUES (?, 'q', 'h', '{}', ?, 10)",
            [(f"k{i}", float(i)) for i in range(1_234)],
        )
    pruned = store.prune(Limits(max_age_seconds=DAY, max_bytes=10**9))
    assert pruned.expired == 1_234 and store.size().rows == 0


def test_prune_removes_expired_and_over_cap_idempotency_keys(tmp_path: Path) -> None:
    store = IdempotencyStore(tmp_path / "grader.db", ttl_seconds=3600)
    db = Database(tmp_path / "grader.db", GRADER_DB)
    for i in range(6):
        store.put(f"k{i}", "fp", "x" * 1_000)
        age(db, "idempotency", f"k{i}", 10 - i)
    age(db, "idempotency", "k0", 7200)  # expired
    pruned = store.prune(max_bytes=3_500)
    assert (pruned.expired, pruned.over_cap) == (1, 2)
    assert keys(db, "idempotency") == {"k3", "k4", "k5"}
    assert store.get("k5") is not None


def test_the_migration_sizes_rows_written_before_it(tmp_path: Path) -> None:
    path = tmp_path / "grader.db"
    first = Schema(GRADER_DB.name, GRADER_DB.migrations[:1], GRADER_DB.setting)
    old = Database(path, first)
    old.execute(
        "INSERT INTO results(key, question_id, config_hash, result, created) "
        "VALUES ('k', 'q', 'h', 'résumé', 0)"
    )
    old.close()
    store = ResultStore(path)
    assert store.size().bytes == len(b"k") + len("résumé".encode())
    assert store.prune(Limits(max_age_seconds=DAY, max_bytes=10**9)).expired == 1


# ----------------------------------------------------------------------------------- CLI


def cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = os.environ | {"GRADER_BANK_DIR": str(TINY_BANK), "GRADER_CACHE_DIR": str(tmp_path)}
    return subprocess.run(
        [str(GRADER), "cache", *args],
        env=environ | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cache_prune_prunes_a_database_file_and_prints_what_went(tmp_path: Path) -> None:
    path = tmp_path / "served.db"
    store = ResultStore(path)
    for i in range(5):
        store.save(f"k{i}", result())
        age(store.database, "results", f"k{i}", 100 - i)
    age(store.database, "results", "k0", 40 * DAY)  # expired at 30 days
    store.close()
    row = len(b"k0") + len(result().model_dump_json().encode())
    cap_mb = str(2.5 * row / 2**20)
    done = cli(tmp_path, "prune", "--db", str(path), GRADER_RESULT_CACHE_MAX_MB=cap_mb)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if "results" in x)
    assert "│ 1 " in line and "│ 2 " in line and "5 → 2" in line  # 1 expired, 2 over the cap
    assert f"{path}:" in done.stdout and "on disk" in done.stdout
    with sqlite3.connect(path) as c:
        assert {r[0] for r in c.execute("SELECT key FROM results")} == {"k3", "k4"}


def test_cache_prune_vacuum_shrinks_the_file(tmp_path: Path) -> None:
    path = tmp_path / "grader.db"
    store = ResultStore(path)
    big = result().model_copy(update={"reason": "x" * 100_000})
    for i in range(20):
        store.save(f"k{i}", big)
    store.close()
    size = file_bytes(path)
    done = cli(tmp_path, "prune", "--vacuum", GRADER_RESULT_CACHE_MAX_MB="0.3")
    assert done.returncode == 0, done.stderr
    assert file_bytes(path) < size / 2


def test_cache_stats_lists_both_tables_and_the_limits(tmp_path: Path) -> None:
    ResultStore(tmp_path / "grader.db").save("k", result())
    done = cli(tmp_path, "stats", GRADER_RESULT_CACHE_TTL_DAYS="7")
    assert done.returncode == 0, done.stderr
    results = next(x for x in done.stdout.splitlines() if "results" in x)
    assert "│ 1 " in results and "7 days, 512 MB" in results
    assert "idempotency" in done.stdout and "24 hours, 64 MB" in done.stdout


def test_cache_commands_refuse_a_missing_file(tmp_path: Path) -> None:
    done = cli(tmp_path, "stats", "--db", str(tmp_path / "nope.db"))
    assert done.returncode == 1
    assert "no database at" in done.stderr and "--db" in done.stderr
    assert not (tmp_path / "nope.db").exists()
