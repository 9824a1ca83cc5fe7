"""``grader cache stats | prune``: the result cache and the stored Idempotency-Keys.

Both live in the grader database (``GRADER_DB_PATH``, else ``GRADER_CACHE_DIR/grader.db``)
and are kept within ``GRADER_RESULT_CACHE_TTL_DAYS`` / ``GRADER_RESULT_CACHE_MAX_MB`` and
``GRADER_IDEMPOTENCY_TTL_HOURS`` / ``GRADER_IDEMPOTENCY_MAX_MB``; ``grader serve`` prunes
them every ``GRADER_PRUNE_INTERVAL_SECONDS`` by itself, ``grader cache prune`` does it now.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from grader.cli.console import err, out

if TYPE_CHECKING:
    from grader.api.idempotency import IdempotencyStore
    from grader.config import Settings
    from grader.grading.result_cache import ResultStore
    from grader.storage.retention import TableSize

cache_app = typer.Typer(
    help="Inspect and prune the result cache and the stored Idempotency-Keys.",
    no_args_is_help=True,
)

DbPath = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default GRADER_DB_PATH, else cache_dir/grader.db)."),
]
MB = 2**20


def _database(db: Path | None) -> tuple[Settings, Path]:
    from grader.config import get_settings

    settings = get_settings()
    path = db or settings.database
    if not path.is_file():
        err.print(
            f"[red]error:[/red] no database at {path}: nothing has been cached there yet "
            "(pass --db, or set GRADER_DB_PATH or GRADER_CACHE_DIR to the server's)",
            highlight=False,
        )
        raise typer.Exit(1)
    return settings, path


def _stores(settings: Settings, path: Path) -> tuple[ResultStore, IdempotencyStore]:
    from grader.api.idempotency import IdempotencyStore
    from grader.grading.result_cache import ResultStore

    return ResultStore(path), IdempotencyStore(path, settings.idempotency_ttl_hours * 3600)


@cache_app.command("stats")
def stats(db: DbPath = None) -> None:
    """Rows, size and oldest row of each table, the file's size, and the limits."""
    from grader.storage.retention import file_bytes

    settings, path = _database(db)
    results, idempotency = _stores(settings, path)
    s = settings.storage
    limits = {
        "results": f"{_days(s.result_cache_ttl_days)}, {s.result_cache_max_mb:g} MB",
        "idempotency": f"{settings.idempotency_ttl_hours:g} hours, {s.idempotency_max_mb:g} MB",
    }
    table = Table("table", "rows", "size", "oldest", "kept for, at most", title="grader cache")
    now = time.time()
    for size in (results.size(), idempotency.size()):
        table.add_row(
            size.table, f"{size.rows:,}", _size(size.bytes), _age(size, now), limits[size.table]
        )
    results.close()
    idempotency.close()
    out.print(f"{path}: {_size(file_bytes(path))} on disk", highlight=False)
    out.print(table)


@cache_app.command("prune")
def prune(
    db: DbPath = None,
    vacuum: Annotated[
        bool, typer.Option(help="Then shrink the file (rewrites it, holding the write lock).")
    ] = False,
) -> None:
    """Delete expired rows, then the oldest beyond each size cap; print what went."""
    from grader.api.pruning import prune_stores
    from grader.storage.retention import file_bytes
    from grader.storage.retention import vacuum as shrink

    settings, path = _database(db)
    disk_before = file_bytes(path)
    results, idempotency = _stores(settings, path)
    pruned = prune_stores(results, idempotency, settings.storage)
    if vacuum:
        shrink(results.database)
    results.close()
    idempotency.close()
    disk_after = file_bytes(path)
    table = Table(
        "table", "expired", "over the cap", "rows", "size", title="pruned (before → after)"
    )
    for p in pruned:
        table.add_row(
            p.table,
            f"{p.expired:,}",
            f"{p.over_cap:,}",
            f"{p.before.rows:,} → {p.after.rows:,}",
            f"{_size(p.before.bytes)} → {_size(p.after.bytes)}",
        )
    out.print(table)
    hint = "" if vacuum else " (--vacuum gives the freed pages back to the disk)"
    out.print(
        f"{path}: {_size(disk_before)} → {_size(disk_after)} on disk{hint}",
        highlight=False,
    )


def _size(n: int) -> str:
    return f"{n / MB:,.1f} MB" if n >= MB else f"{n / 1024:,.1f} KB"


def _days(days: float) -> str:
    return f"{days:g} day" + ("" if days == 1 else "s")


def _age(size: TableSize, now: float) -> str:
    if size.oldest is None:
        return "-"
    seconds = max(now - size.oldest, 0)
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86_400:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86_400:.1f} days"
