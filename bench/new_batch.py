"""New facts for the incremental and cycle phases: two events on each of some existing leads
(5k for the incremental phase, 10k for the cycle), and their import.

The batch goes through the real import path (stage, then commit), as a file import would
send it once read, and lands in the hour after the full scoring's as-of time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pyarrow as pa
from generate import AS_OF, DatasetSize, shuffle_stride

from leadgate.store.duckdb_store import STAGED_COLUMNS, DuckDBStore

NEW_EVENTS_LEADS = 5_000  # two events each
INCREMENTAL_AS_OF = AS_OF + dt.timedelta(hours=1)
_ARROW_TYPES = {"text": pa.string(), "int64": pa.int64(), "timestamp": pa.timestamp("us")}


def import_batch(store: DuckDBStore, events: pa.Table) -> None:
    """What an import does once its file is read: stage the rows, commit the batch."""
    store.begin_batch()
    store.stage("events", events)
    store.commit_batch("events", "bench/new-events", events.num_rows, INCREMENTAL_AS_OF)


def new_events(size: DatasetSize, leads: int = NEW_EVENTS_LEADS) -> pa.Table:
    """Two events for each of ``leads`` existing leads, in the hour before INCREMENTAL_AS_OF:
    a pricing visit plus one event that some other rule scores (one in seven a demo request)."""
    lead_count = min(leads, size.leads)
    stride = shuffle_stride(size.leads)
    others = [
        ("demo_requested", None, None),
        ("email_clicked", None, None),
        ("whitepaper_downloaded", None, '{"topic": "analytics"}'),
        ("webinar_attended", None, None),
        ("trial_started", None, None),
        ("email_unsubscribed", None, None),
        ("page_view", "/careers/job-1", None),
    ]
    rows: list[dict[str, Any]] = []
    for index in range(lead_count):
        lead_key = 1 + (index * stride + size.seed) % size.leads
        moment = AS_OF + dt.timedelta(seconds=1 + index * 3599 // lead_count)
        event, path, properties = others[index % len(others)]
        rows.append(_event_row(message_id(size, 2 * index), lead_key, "page_view", "/pricing", None, moment))
        rows.append(_event_row(message_id(size, 2 * index + 1), lead_key, event, path, properties, moment))
    for line, row in enumerate(rows, start=1):
        row["line"] = line
    schema = pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in STAGED_COLUMNS["events"].items()])
    return pa.Table.from_pylist(rows, schema=schema)


def message_id(size: DatasetSize, index: int) -> str:
    """A new message id shaped like the generated ones: a random part, then a number none has."""
    digest = hashlib.blake2b(f"{size.seed}-{index}".encode(), digest_size=8).digest()
    return f"m{int.from_bytes(digest)}-{size.events + index}"


def _event_row(
    message_id: str, lead_key: int, event: str, path: str | None, properties: str | None, moment: dt.datetime
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "kind": "page" if event == "page_view" else "track",
        "event": event,
        "user_id": f"u{lead_key}",
        "ts": moment,
        "received_at": moment,
        "path": path,
        "properties": properties,
    }
