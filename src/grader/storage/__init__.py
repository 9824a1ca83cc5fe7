"""One storage layer: connections, schema versions and migrations for every table.

    sqlite.py     Database (connection policy, query/execute/transaction), Schema,
                  Migration, the migration runner
    schemas.py    the migrations of each file: GRADER_DB (results, idempotency,
                  transcript jobs), PROBE_LOGITS (the local judge's logit cache)
    retention.py  pruning a table by age and total size (result cache, idempotency)

Stores keep only their queries: ``Database(path, GRADER_DB).query(...)``.  A new
table is a new migration appended in schemas.py, never a new ``connect()``.
"""

from grader.storage.schemas import GRADER_DB, PROBE_LOGITS
from grader.storage.sqlite import MEMORY, Database, Migration, Schema

__all__ = ["GRADER_DB", "MEMORY", "PROBE_LOGITS", "Database", "Migration", "Schema"]
