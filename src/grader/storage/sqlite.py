"""SQLite databases: the one connection policy and the one migration runner.

Every store (result cache, idempotency keys, transcript jobs, probe logits) opens its
file through ``Database``, so these rules hold everywhere:

- **Connections.** One connection per thread for a file (WAL, so readers never block
  the writer; ``synchronous=FULL``, so a committed row survives a crash; a 30 s busy
  timeout, so writers wait for each other instead of failing with "database is
  locked"). ``":memory:"`` is one shared connection behind a lock (tests). Autocommit
  (``isolation_level=None``): each statement commits by itself, and ``transaction()``
  groups statements with ``BEGIN IMMEDIATE``. The parent directory is created.
- **Schema versions.** A database declares a ``Schema``: an ordered list of
  migrations, SQL or callables. ``PRAGMA user_version`` counts those applied; opening
  applies the missing ones in one ``BEGIN IMMEDIATE`` transaction, so two processes
  opening a fresh file at once migrate it once. A file from a newer grader (a higher
  version than the code knows) is refused with a ConfigError naming the file and the fix.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import ConfigError

log = logging.getLogger(__name__)

MEMORY = ":memory:"
BUSY_TIMEOUT_SECONDS = 30.0

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Migration:
    """One schema step: SQL statements (``;``-separated) or a function of the connection.

    It runs inside the migration transaction: it must not COMMIT, and a function
    must not call ``executescript`` (which commits first).
    """

    summary: str
    step: str | Callable[[sqlite3.Connection], None]

    def apply(self, conn: sqlite3.Connection) -> None:
        if callable(self.step):
            self.step(conn)
            return
        for statement in split_statements(self.step):
            conn.execute(statement)


@dataclass(frozen=True)
class Schema:
    """The ordered migrations of one kind of database file; version N = first N applied.

    ``setting`` names where the file's location is configured (for error messages).
    Never edit or reorder a released migration: append a new one.
    """

    name: str
    migrations: Sequence[Migration]
    setting: str

    @property
    def version(self) -> int:
        return len(self.migrations)


def split_statements(script: str) -> list[str]:
    """The complete SQL statements of ``script``, in order."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):  # a ';' inside a string or trigger stays pending
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending[:-1].strip():
                statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement: {pending.strip()!r}")
    return statements


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced (the base class cannot)."""


class Database:
    """One SQLite file (or ``":memory:"``) at the latest version of ``schema``."""

    def __init__(self, path: Path | str, schema: Schema) -> None:
        self.path = str(path)
        self.schema = schema
        self._local = threading.local()
        self._open: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._open_lock = threading.Lock()
        self._shared: _Connection | None = None
        self._lock: threading.RLock | None = None
        if self.path == MEMORY:
            self._shared = self._connect()
            self._lock = threading.RLock()
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self._serial():
            migrate(self._connection(), schema, self.path)

    # -- connections -----------------------------------------------------------------

    def _connect(self) -> _Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=False,  # only ours to share: close() may run on any thread
            factory=_Connection,
        )
        if self.path != MEMORY:
            _switch_to_wal(conn)
        conn.execute("PRAGMA synchronous=FULL")
        with self._open_lock:
            self._open.add(conn)
        return conn

    def _connection(self) -> _Connection:
        if self._shared is not None:
            return self._shared
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _serial(self) -> AbstractContextManager[object]:
        """The lock around a shared in-memory connection; nothing for a file."""
        return self._lock if self._lock is not None else nullcontext()

    def close(self) -> None:
        """Close every connection this database opened (in any thread)."""
        with self._serial(), self._open_lock:
            for conn in list(self._open):
                conn.close()
            self._open.clear()

    # -- statements ------------------------------------------------------------------

    def query(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        """Rows of one statement (autocommit)."""
        with self._serial():
            rows: list[Row] = self._connection().execute(sql, args).fetchall()
        return rows

    def execute(self, sql: str, args: Sequence[object] = ()) -> int:
        """Run one statement (autocommit); returns the number of rows it changed."""
        with self._serial():
            rowcount: int = self._connection().execute(sql, args).rowcount
        return rowcount

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; ``ROLLBACK`` if the block raises."""
        with self._serial():
            conn = self._connection()
            with _immediate(conn):
                yield conn


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")  # take the write lock now: no upgrade deadlock later
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _user_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode, waiting out other processes doing the same.

    Switching the journal mode of a fresh file needs an exclusive lock, and SQLite can
    report "database is locked" for it at once, without its busy handler, while another
    process holds the file (seen when several processes open a new database together).
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def migrate(conn: sqlite3.Connection, schema: Schema, path: str) -> None:
    """Bring the database behind ``conn`` to ``schema.version``; refuse a newer one."""
    if _user_version(conn) == schema.version:
        return  # the usual case: no write lock taken
    with _immediate(conn):
        found = _user_version(conn)  # again under the lock: another process may have won
        if found > schema.version:
            raise ConfigError(
                f"{path}: {schema.name} schema version {found} is newer than this grader "
                f"supports ({schema.version}); it was written by a newer grader. Upgrade "
                f"grader, or set {schema.setting} to use another file."
            )
        for number in range(found + 1, schema.version + 1):
            migration = schema.migrations[number - 1]
            log.info("%s: migration %d (%s)", path, number, migration.summary)
            migration.apply(conn)
            conn.execute(f"PRAGMA user_version = {number}")
