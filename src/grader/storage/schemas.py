"""The tables of every database file, as ordered migrations (see storage/sqlite.py).

``GRADER_DB`` is ``settings.storage.database`` (``cache_dir/grader.db`` unless
``GRADER_DB_PATH``): the result cache, Idempotency-Keys and transcript jobs.
``PROBE_LOGITS`` is ``cache_dir/probe-logits.sqlite``: the local judge's raw logits.

Migration 1 of each is the schema from before versioning, verbatim and with
``IF NOT EXISTS``, so a file written then (``user_version`` 0, tables present) is
adopted as version 1 with its rows intact. To change a schema, append a migration;
never edit a released one.
"""

from __future__ import annotations

from grader.storage.sqlite import Migration, Schema

_RESULTS = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    question_id TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    created REAL NOT NULL
);
"""

_IDEMPOTENCY = """
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    response TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency(created);
"""

_TRANSCRIPT_JOBS = """
CREATE TABLE IF NOT EXISTS transcript_jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    source TEXT,
    plan TEXT NOT NULL,
    total INTEGER NOT NULL,
    graded INTEGER NOT NULL DEFAULT 0,
    config_hash TEXT NOT NULL,
    report TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS transcript_results (
    job_id TEXT NOT NULL,
    item INTEGER NOT NULL,
    result TEXT NOT NULL,
    finished REAL NOT NULL,
    PRIMARY KEY (job_id, item)
);
CREATE TABLE IF NOT EXISTS transcript_attempts (
    job_id TEXT NOT NULL,
    item INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    started REAL NOT NULL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS transcript_attempts_job ON transcript_attempts(job_id, item);
"""

# Pruning (storage/retention.py) reads each row's age and size from an index alone.
_ROW_SIZES = """
ALTER TABLE results ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
UPDATE results SET size = length(CAST(key AS BLOB)) + length(CAST(result AS BLOB));
CREATE INDEX results_created_size ON results(created, size);
ALTER TABLE idempotency ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
UPDATE idempotency SET size = length(CAST(key AS BLOB)) + length(CAST(response AS BLOB));
DROP INDEX IF EXISTS idempotency_created;
CREATE INDEX idempotency_created_size ON idempotency(created, size);
"""

GRADER_DB = Schema(
    name="grader database",
    setting="GRADER_DB_PATH",
    migrations=(
        Migration(
            "results, idempotency and transcript job tables",
            _RESULTS + _IDEMPOTENCY + _TRANSCRIPT_JOBS,
        ),
        Migration("row sizes and (created, size) indexes of results and idempotency", _ROW_SIZES),
    ),
)

PROBE_LOGITS = Schema(
    name="probe-logit cache",
    setting="GRADER_CACHE_DIR",
    migrations=(
        Migration(
            "logits table",
            "CREATE TABLE IF NOT EXISTS logits (key TEXT PRIMARY KEY, v TEXT);",
        ),
    ),
)
