"""The outbox in the store: notices waiting to be sent, sent, or dead, and the collection cursor.

The cursor (``outbox_seq`` in ``meta``) is the last lifecycle ``seq`` collected. A collection
reads the facts after it, adds their notices and moves it on in one transaction (see
:func:`leadgate.service.outbox.collect`), so each fact is collected once, whoever wrote it:
the server's worker or ``leadgate cycle``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import pyarrow as pa

from leadgate.lifecycle.facts import AssignmentFact, BreachFact, TransitionFact
from leadgate.lifecycle.notifications import Notice, RecordedFact
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import TABLE_OF, _fact
from leadgate.store.schema import ARROW_TYPES, SERVICE_TABLES

CURSOR_KEY = "outbox_seq"
STATUSES = ("pending", "delivered", "dead")

_NOTICE_COLUMNS = [field.name for field in fields(Notice)]
_ENTRY_COLUMNS = [*_NOTICE_COLUMNS, "status", "attempts", "next_attempt_at", "last_error", "created_at", "delivered_at"]
_SELECT = ", ".join(f'"{name}"' for name in _ENTRY_COLUMNS)
_NOTIFYING_FACTS = (TransitionFact, AssignmentFact, BreachFact)  # decisions notify through the moves they cause

# The facts after the cursor that some rule may notify: a transition to a stage named by a
# rule, an assignment or a breach when a rule listens to them, recent enough.
_LEADS_TO_NOTIFY = """
SELECT lead_key FROM transitions
 WHERE seq > $since AND seq <= $top AND "at" >= $not_before AND target IN (SELECT stage FROM arrow_rows)
UNION SELECT lead_key FROM assignments WHERE $assigned AND seq > $since AND seq <= $top AND "at" >= $not_before
UNION SELECT lead_key FROM sla_breaches WHERE $breached AND seq > $since AND seq <= $top AND "at" >= $not_before
"""

# The oldest pending notice of each lead and destination: a lead's later notice to a receiver
# waits while an earlier one to that receiver is pending. Only those of channels the settings
# can send count ($webhooks, $emails, and $rep_names for e-mails to a rep's name).
_HEADS = """
SELECT * FROM (
    SELECT *, row_number() OVER (PARTITION BY lead_key, channel, destination ORDER BY seq, "rule") AS place
    FROM outbox WHERE status = 'pending'
) AS pending WHERE place = 1 AND (
    (channel = 'webhook' AND $webhooks) OR (channel = 'email' AND $emails AND (destination LIKE '%@%' OR $rep_names)))
"""
_DUE_HEADS = (
    f'SELECT {_SELECT} FROM ({_HEADS}) AS heads WHERE next_attempt_at <= $now ORDER BY seq, "rule" LIMIT $limit'
)
_NEXT_HEAD_DUE = f"SELECT min(next_attempt_at) FROM ({_HEADS}) AS heads"


@dataclass(frozen=True)
class Sendable:
    """What the settings can send: webhooks, e-mails, and e-mails to a rep's name (not an address)."""

    webhooks: bool = True
    emails: bool = True
    rep_names: bool = True

    def parameters(self) -> dict[str, bool]:
        return {"webhooks": self.webhooks, "emails": self.emails, "rep_names": self.rep_names}


@dataclass(frozen=True)
class OutboxEntry:
    """A notice and how its delivery goes."""

    notice: Notice
    status: str  # pending, delivered or dead
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None

    @property
    def notification_id(self) -> str:
        return self.notice.notification_id


class OutboxStore:
    """The ``outbox`` table and its cursor in one store (DuckDB or PostgreSQL: portable SQL)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- collecting ------------------------------------------------------------------------
    def cursor(self) -> int:
        row = self.store._one("SELECT value FROM meta WHERE key = ?", [CURSOR_KEY])
        return int(row[0]) if row else 0

    def set_cursor(self, seq: int) -> None:
        self.store._run("DELETE FROM meta WHERE key = ?", [CURSOR_KEY])
        self.store._run("INSERT INTO meta VALUES (?, ?)", [CURSOR_KEY, str(seq)])

    def top_seq(self) -> int:
        """The latest seq of a fact that can notify (0: none yet)."""
        tables = " UNION ALL ".join(f"SELECT max(seq) AS seq FROM {TABLE_OF[kind][0]}" for kind in _NOTIFYING_FACTS)
        row = self.store._one(f"SELECT coalesce(max(seq), 0) FROM ({tables}) AS tops")
        return int(row[0]) if row else 0

    def histories(
        self,
        since: int,
        top: int,
        stages: Sequence[str],
        assigned: bool,
        breached: bool,
        not_before: dt.datetime,
    ) -> dict[int, list[RecordedFact]]:
        """Every fact up to ``top`` of the leads with a fact after ``since`` that a rule may notify."""
        parameters = {
            "since": since,
            "top": top,
            "assigned": assigned,
            "breached": breached,
            "not_before": not_before,
        }
        stage_rows = pa.table({"stage": pa.array(list(stages), pa.string())})
        keys = [row[0] for row in self.store._run_reading(_LEADS_TO_NOTIFY, stage_rows, parameters)]
        found: dict[int, list[RecordedFact]] = {}
        if not keys:
            return found
        with self.store.registered("notify_keys", pa.table({"lead_key": pa.array(keys, pa.int64())})):
            for kind in _NOTIFYING_FACTS:
                table = TABLE_OF[kind][0]
                names = [field.name for field in fields(kind)]
                quoted = ", ".join(f't."{name}"' for name in names)
                rows = self.store._run(
                    f"SELECT t.seq, t.fact_id, {quoted} FROM {table} t "
                    "WHERE t.lead_key IN (SELECT lead_key FROM notify_keys) AND t.seq <= ?",
                    [top],
                )
                for seq, fact_id, *values in rows:
                    fact = _fact(kind, dict(zip(names, values, strict=True)))
                    found.setdefault(fact.lead_key, []).append(RecordedFact(seq, fact_id, fact))
        return {key: sorted(facts, key=lambda recorded: recorded.seq) for key, facts in found.items()}

    def lead_ids(self, lead_keys: Iterable[int]) -> dict[int, str]:
        """Each lead's id (its first user id)."""
        keys = sorted(set(lead_keys))
        if not keys:
            return {}
        rows = self.store._run_reading(
            "SELECT p.lead_key, p.id_value FROM person_keys p WHERE p.lead_key IN (SELECT lead_key FROM arrow_rows) "
            "AND p.id_kind = 'user' AND p.first_key = p.lead_key",
            pa.table({"lead_key": pa.array(keys, pa.int64())}),
        )
        return {int(key): str(value) for key, value in rows}

    def add(self, notices: Sequence[Notice], now: dt.datetime) -> int:
        """Queue notices (due now); one already queued (same id) is left as it is. Returns how many were new."""
        if not notices:
            return 0
        columns = SERVICE_TABLES["outbox"]
        state = {"status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
        rows = [{**{name: getattr(notice, name) for name in _NOTICE_COLUMNS}, **state} for notice in notices]
        schema = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in columns.items()])
        data = pa.table({name: [row.get(name) for row in rows] for name in columns}, schema=schema)
        before = self.store.count("outbox")
        self.store._run_reading(
            "INSERT INTO outbox SELECT * FROM arrow_rows n "
            "WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.notification_id = n.notification_id)",
            data,
        )
        return self.store.count("outbox") - before

    # -- delivering ------------------------------------------------------------------------
    def due_heads(self, now: dt.datetime, limit: int, sendable: Sendable) -> list[OutboxEntry]:
        """The notices to send now, the earliest first (see ``_HEADS``)."""
        parameters = {"now": now, "limit": limit, **sendable.parameters()}
        return [_entry(row) for row in self.store._run(_DUE_HEADS, parameters)]

    def next_head_due(self, sendable: Sendable) -> dt.datetime | None:
        """When the next notice to send is due (perhaps already; None: nothing to send)."""
        row = self.store._one(_NEXT_HEAD_DUE, sendable.parameters())
        return row[0] if row else None

    def mark_delivered(self, notification_id: str, now: dt.datetime) -> None:
        self.store._run(
            """UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = ?,
               next_attempt_at = NULL, last_error = NULL WHERE notification_id = ? AND status = 'pending'""",
            [now, notification_id],
        )

    def mark_failed(self, notification_id: str, error: str, retry_at: dt.datetime | None) -> None:
        """An attempt failed: try again at ``retry_at``, or (None) the notice is dead."""
        self.store._run(
            """UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
               status = CASE WHEN ? THEN 'dead' ELSE 'pending' END
               WHERE notification_id = ? AND status = 'pending'""",
            [error[:1000], retry_at, retry_at is None, notification_id],
        )

    def prune_delivered(self, before: dt.datetime) -> int:
        """Delete the notices delivered before ``before``; how many. Pending and dead ones stay:
        a dead one waits for someone to retry it. The condition compares the bare columns, so an
        index on them, or a scan, serves it on either engine."""
        return self.store._inserted(  # the row count of the statement, on either engine
            "DELETE FROM outbox WHERE status = 'delivered' AND delivered_at < ?", [before]
        )

    # -- reading and retrying --------------------------------------------------------------
    def entries(self, statuses: Sequence[str], limit: int | None = None) -> list[OutboxEntry]:
        """Notices with these statuses, the earliest first."""
        unknown = set(statuses) - set(STATUSES)
        if unknown:
            raise ValueError(f"unknown outbox statuses: {sorted(unknown)}")
        listed = ", ".join(f"'{status}'" for status in statuses) or "NULL"
        statement = f'SELECT {_SELECT} FROM outbox WHERE status IN ({listed}) ORDER BY seq, "rule"'
        if limit is not None:
            statement += f" LIMIT {int(limit)}"
        return [_entry(row) for row in self.store._run(statement)]

    def entry(self, notification_id: str) -> OutboxEntry | None:
        row = self.store._one(f"SELECT {_SELECT} FROM outbox WHERE notification_id = ?", [notification_id])
        return _entry(row) if row else None

    def counts(self) -> dict[str, int]:
        rows = self.store._run("SELECT status, count(*) FROM outbox GROUP BY status")
        found = {str(status): int(count) for status, count in rows}
        return {status: found.get(status, 0) for status in STATUSES}

    def retry(self, notification_ids: Sequence[str], now: dt.datetime) -> int:
        """Dead notices back in the queue, due now, with every attempt again; returns how many."""
        if not notification_ids:
            return 0
        rows = self.store._run_reading(
            """UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?
               WHERE status = 'dead' AND notification_id IN (SELECT notification_id FROM arrow_rows)
               RETURNING notification_id""",
            pa.table({"notification_id": pa.array(list(notification_ids), pa.string())}),
            [now],
        )
        return len(rows)

    def dead_ids(self) -> list[str]:
        rows = self.store._run("SELECT notification_id FROM outbox WHERE status = 'dead' ORDER BY seq, \"rule\"")
        return [str(row[0]) for row in rows]


def _entry(row: Sequence[Any]) -> OutboxEntry:
    values = dict(zip(_ENTRY_COLUMNS, row, strict=True))
    notice = Notice(**{name: values[name] for name in _NOTICE_COLUMNS})
    return OutboxEntry(
        notice=notice,
        status=values["status"],
        attempts=int(values["attempts"]),
        next_attempt_at=values["next_attempt_at"],
        last_error=values["last_error"],
        created_at=values["created_at"],
        delivered_at=values["delivered_at"],
    )
