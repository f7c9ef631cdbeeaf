"""The import phase: a Segment JSON-lines file larger than the memory DuckDB may use.

The file is written once (``bench-workspace/import.jsonl``, deterministic) and imported into a
fresh store whose DuckDB memory limit is far below the file's size, through the same path as
``leadgate import events``: it shows the import streams (rows staged in batches, spilled to
disk by DuckDB) rather than holding the file in memory.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import orjson

from leadgate.ingest.importer import ImportOptions, import_file
from leadgate.store.duckdb_store import DuckDBStore

LINES = 3_000_000  # about 0.8 GB: three times the memory limit and more
MEMORY_LIMIT = "256MB"
_EVENTS = ("page", "email_clicked", "webinar_attended", "whitepaper_downloaded", "feature_used")


def write_file(path: Path, lines: int = LINES) -> None:
    """Segment messages: page views and track events of 200k users over a year."""
    start = dt.datetime(2026, 1, 1)
    with path.open("wb") as out:
        for number in range(lines):
            kind = _EVENTS[number % len(_EVENTS)]
            message: dict[str, Any] = {
                "type": "page" if kind == "page" else "track",
                "messageId": f"import-{number}",
                "userId": f"user-{(number * 7919) % 200_000}",
                "timestamp": (start + dt.timedelta(seconds=number * 10)).isoformat() + "Z",
                "properties": {"path": "/pricing" if number % 7 == 0 else f"/blog/{number % 500}"},
                "context": {"campaign": {"source": "newsletter", "medium": "email", "name": f"issue-{number % 40}"}},
            }
            if kind != "page":
                message["event"] = kind
            out.write(orjson.dumps(message) + b"\n")


def run_import(workspace: Path) -> dict[str, Any]:
    """Import the file into an empty store with a small memory limit; time it."""
    source = workspace / "import.jsonl"
    if not source.exists():
        write_file(source)
    target = workspace / "import.duckdb"
    target.unlink(missing_ok=True)
    store = DuckDBStore(target, memory_limit=MEMORY_LIMIT)
    started = time.perf_counter()
    report = import_file(store, source, ImportOptions(kind="events"))
    seconds = time.perf_counter() - started
    store.close()
    target.unlink(missing_ok=True)
    return {
        "lines": report.rows_read,
        "events_added": report.batch.events_added if report.batch else 0,
        "file_bytes": source.stat().st_size,
        "memory_limit": MEMORY_LIMIT,
        "seconds": seconds,
    }
