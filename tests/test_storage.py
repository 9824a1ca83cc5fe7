"""The storage layer: one connection policy and versioned migrations for every database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader.api.idempotency import IdempotencyStore
from grader.errors import ConfigError
from grader.grading.judges.local.logit_cache import LogitCache
from grader.grading.result_cache import ResultStore
from grader.storage import GRADER_DB, MEMORY, PROBE_LOGITS, Database, Migration, Schema
from grader.storage.sqlite import split_statements
from grader.transcripts.jobs import JobStore


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as c:
        version: int = c.execute("PRAGMA user_version").fetchone()[0]
    return version


def recording_schema(applied: list[int], count: int = 3) -> Schema:
    """Migration n creates table t<n> and records n in ``applied``."""

    def step(n: int) -> Migration:
        def apply(conn: sqlite3.Connection) -> None:
            conn.execute(f"CREATE TABLE t{n} (x)")
            applied.append(n)

        return Migration(f"table t{n}", apply)

    return Schema("test database", [step(n) for n in range(1, count + 1)], "GRADER_DB_PATH")


# -------------------------------------------------------------------------- migrations


def test_migrations_apply_once_in_order(tmp_path: Path) -> None:
    applied: list[int] = []
    Database(tmp_path / "x.db", recording_schema(applied))
    assert applied == [1, 2, 3]
    assert user_version(tmp_path / "x.db") == 3


def test_reopening_applies_nothing(tmp_path: Path) -> None:
    applied: list[int] = []
    Database(tmp_path / "x.db", recording_schema(applied)).close()
    Database(tmp_path / "x.db", recording_schema(applied)).close()
    assert applied == [1, 2, 3]


def test_a_new_migration_is_applied_to_an_old_file(tmp_path: Path) -> None:
    applied: list[int] = []
    Database(tmp_path / "x.db", recording_schema(applied, count=2)).close()
    Database(tmp_path / "x.db", recording_schema(applied, count=3)).close()
    assert applied == [1, 2, 3]
    assert user_version(tmp_path / "x.db") == 3


def test_a_failing_migration_leaves_the_file_at_its_old_version(tmp_path: Path) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half (x)")
        raise RuntimeError("boom")

    schema = Schema("test database", [Migration("ok", "CREATE TABLE a (x);")], "X")
    Database(tmp_path / "x.db", schema).close()
    worse = Schema("test database", [*schema.migrations, Migration("broken", broken)], "X")
    with pytest.raises(RuntimeError):
        Database(tmp_path / "x.db", worse)
    assert user_version(tmp_path / "x.db") == 1
    with sqlite3.connect(tmp_path / "x.db") as c:
        assert not c.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchall()


def test_a_database_newer_than_the_code_is_refused_naming_file_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "grader.db"
    Database(path, GRADER_DB).close()
    with sqlite3.connect(path) as c:
        c.execute(f"PRAGMA user_version = {GRADER_DB.version + 1}")
    with pytest.raises(ConfigError) as err:
        ResultStore(path)
    message = str(err.value)
    assert str(path) in message and "newer" in message
    assert "Upgrade grader" in message and "GRADER_DB_PATH" in message


def test_sql_migrations_split_into_complete_statements() -> None:
    script = "CREATE TABLE a (x TEXT DEFAULT 'p;q');\nCREATE INDEX ai ON a(x);\n"
    assert split_statements(script) == [
        "CREATE TABLE a (x TEXT DEFAULT 'p;q');",
        "CREATE INDEX ai ON a(x);",
    ]


# ------------------------------------------------------------- files from before versions

# The schemas as the stores created them before grader.storage (user_version 0).
OLD_GRADER_DB = """
CREATE TABLE results (key TEXT PRIMARY KEY, question_id TEXT NOT NULL,
    config_hash TEXT NOT NULL, result TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE idempotency (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,
    response TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX idempotency_created ON idempotency(created);
INSERT INTO idempotency VALUES ('k', 'fp', '{"score": 1}', strftime('%s', 'now'));
"""
OLD_LOGITS = """
CREATE TABLE logits (key TEXT PRIMARY KEY, v TEXT);
INSERT INTO logits VALUES ('abc', '[0.5, -1.25]');
"""


def old_file(path: Path, script: str) -> Path:
    with sqlite3.connect(path) as c:
        c.executescript(script)
    c.close()
    return path


def test_an_unversioned_grader_db_is_adopted_with_its_rows(tmp_path: Path) -> None:
    path = old_file(tmp_path / "grader.db", OLD_GRADER_DB)
    store = IdempotencyStore(path, ttl_seconds=3600)
    stored = store.get("k")
    assert stored is not None and stored.body == '{"score": 1}'
    assert user_version(path) == GRADER_DB.version


def test_adopting_an_unversioned_grader_db_adds_the_tables_it_lacked(tmp_path: Path) -> None:
    path = old_file(tmp_path / "grader.db", OLD_GRADER_DB)
    JobStore(path).close()
    assert JobStore(path).unfinished() == []


def test_an_unversioned_probe_logit_cache_is_adopted_with_its_rows(tmp_path: Path) -> None:
    path = old_file(tmp_path / "probe-logits.sqlite", OLD_LOGITS)
    assert LogitCache(path).get("abc") == [0.5, -1.25]
    assert user_version(path) == PROBE_LOGITS.version == 1


def test_migration_one_creates_the_same_columns_as_before(tmp_path: Path) -> None:
    old = old_file(tmp_path / "old.db", OLD_GRADER_DB)
    first = Schema(GRADER_DB.name, GRADER_DB.migrations[:1], GRADER_DB.setting)
    Database(tmp_path / "new.db", first).close()

    def columns(path: Path, table: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(path) as c:
            return c.execute(f"PRAGMA table_info({table})").fetchall()

    for table in ("results", "idempotency"):
        assert columns(tmp_path / "new.db", table) == columns(old, table)


# -------------------------------------------------------------------------- connections


def test_the_parent_directory_is_created(tmp_path: Path) -> None:
    Database(tmp_path / "a" / "b" / "x.db", GRADER_DB).close()
    assert (tmp_path / "a" / "b" / "x.db").is_file()


def test_a_file_database_uses_wal(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", GRADER_DB)
    assert db.query("PRAGMA journal_mode") == [("wal",)]


def test_a_transaction_that_raises_is_rolled_back() -> None:
    db = Database(MEMORY, GRADER_DB)
    with pytest.raises(RuntimeError), db.transaction() as c:
        c.execute(
            "INSERT INTO idempotency(key, fingerprint, response, created) VALUES ('k', 'fp', '{}', 0)"
        )
        raise RuntimeError("boom")
    assert db.query("SELECT COUNT(*) FROM idempotency") == [(0,)]


@pytest.mark.parametrize("where", ["file", "memory"])
def test_two_threads_write_at_once_without_locking_errors(tmp_path: Path, where: str) -> None:
    db = Database(tmp_path / "x.db" if where == "file" else MEMORY, GRADER_DB)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def write(name: str) -> None:
        try:
            start.wait()
            for i in range(50):
                db.execute(
                    "INSERT INTO idempotency(key, fingerprint, response, created) "
                    "VALUES (?, 'fp', '{}', 0)",
                    (f"{name}{i}",),
                )
                with db.transaction() as c:  # a read-then-write transaction
                    (n,) = c.execute("SELECT COUNT(*) FROM results").fetchone()
                    c.execute(
                        "INSERT INTO results(key, question_id, config_hash, result, created) "
                        "VALUES (?, 'q', 'h', '{}', ?)",
                        (f"{name}{i}", n),
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(name,)) for name in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.query("SELECT COUNT(*), COUNT(DISTINCT created) FROM results") == [(100, 100)]
    assert db.query("SELECT COUNT(*) FROM idempotency") == [(100,)]


def test_close_closes_the_connections_of_every_thread(tmp_path: Path) -> None:
    db = Database(tmp_path / "x.db", GRADER_DB)
    other = threading.Thread(target=db.query, args=("SELECT 1",))
    other.start()
    other.join()
    db.close()
    with pytest.raises(sqlite3.ProgrammingError):
        db.query("SELECT 1")


# ------------------------------------------------------------------------ two processes

OPENER = """
import sys, time
from pathlib import Path
from grader.storage import Database, Migration, Schema

def slow(conn):
    time.sleep(0.3)  # widen the window in which another process could migrate too

schema = Schema("test database", [
    Migration("log", "CREATE TABLE log (pid INTEGER); INSERT INTO log VALUES (0);"),
    Migration("slow", slow),
], "GRADER_DB_PATH")
go = Path(sys.argv[2])
(go.parent / f"ready-{sys.argv[3]}").touch()
while not go.exists():
    time.sleep(0.002)
db = Database(sys.argv[1], schema)
db.execute("INSERT INTO log VALUES (?)", (int(sys.argv[3]),))
"""


def test_processes_opening_a_fresh_file_at_once_all_succeed(tmp_path: Path) -> None:
    path, go = tmp_path / "fresh.db", tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, str(path), str(go), str(n)],
            stderr=subprocess.PIPE,
        )
        for n in range(1, 4)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < len(procs):  # every interpreter has started
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.01)
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()
    with sqlite3.connect(path) as c:
        pids = sorted(row[0] for row in c.execute("SELECT pid FROM log"))
    assert pids == [0, 1, 2, 3]  # the migration's row once, then one row per process
    assert user_version(path) == 2
