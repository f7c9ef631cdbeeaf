"""The hand-off's facts in a store: append them with the lead states they lead to, atomically.

:meth:`LifecycleStore.record` is the only writer. In one transaction it reads the states of
the leads concerned, checks the versions the caller saw (a stale view is a
:class:`~leadgate.lifecycle.decisions.Conflict`), appends the facts and writes the new states.
Two transactions that change one lead at once collide in DuckDB; the loser gets a Conflict,
so exactly one decision wins. Facts about different leads never collide. On PostgreSQL the
writers of every process take turns (:meth:`~leadgate.store.base.Store.lock_lifecycle`), so a
stale view is caught by the version check.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any

import pyarrow as pa

from leadgate.domain.stages import Stage
from leadgate.errors import StoreError
from leadgate.lifecycle.decisions import Conflict
from leadgate.lifecycle.facts import (
    AssignmentFact,
    BreachFact,
    DecisionFact,
    Fact,
    LeadState,
    TransitionFact,
    apply,
)
from leadgate.lifecycle.machine import Cause
from leadgate.routing.assign import Absence
from leadgate.store.base import Store
from leadgate.store.schema import ARROW_TYPES, DERIVED_TABLES, LEAD_STATE_TABLE, LIFECYCLE_TABLES

TABLE_OF: dict[type, tuple[str, str]] = {
    TransitionFact: ("transitions", "t"),
    AssignmentFact: ("assignments", "a"),
    DecisionFact: ("decisions", "d"),
    BreachFact: ("sla_breaches", "b"),
}
_STATE_COLUMNS = list(DERIVED_TABLES[LEAD_STATE_TABLE])


class LifecycleStore:
    """Lifecycle facts and lead states of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        if store.lead_states_to_rebuild:  # an upgrade changed the table's shape: fold the facts again
            store.lead_states_to_rebuild = False
            self.rebuild_states()
        self.write_seconds = 0.0  # time spent in :meth:`record` (a cycle reports it)

    # -- reading ---------------------------------------------------------------------------
    def states(self, lead_keys: Iterable[int] | None = None) -> dict[int, LeadState]:
        """The current state of these leads (all leads that ever moved when None)."""
        if lead_keys is None:
            rows = self.store._run(f"SELECT {', '.join(_STATE_COLUMNS)} FROM lead_state")
        else:
            keys = sorted(set(lead_keys))
            if not keys:
                return {}
            rows = self._rows_for_keys(LEAD_STATE_TABLE, _STATE_COLUMNS, keys)
        return {row[0]: _state(row) for row in rows}

    def lead_with_most_moves(self) -> str | None:
        """The id of the lead with the most transitions, a won one first (ties: the smallest id)."""
        row = self.store._one(
            """SELECT p.id_value FROM transitions AS t
               JOIN person_keys AS p ON p.lead_key = t.lead_key AND p.id_kind = 'user' AND p.first_key = p.lead_key
               GROUP BY p.id_value ORDER BY bool_or(t.target = 'won') DESC, count(*) DESC, p.id_value LIMIT 1"""
        )
        return str(row[0]) if row else None

    def latest_fact_at(self) -> dt.datetime | None:
        """The time of the latest transition, assignment, decision or breach (None: there is none)."""
        row = self.store._one(
            """SELECT max(latest) FROM (SELECT max("at") AS latest FROM transitions
               UNION ALL SELECT max("at") FROM assignments UNION ALL SELECT max("at") FROM decisions
               UNION ALL SELECT max("at") FROM sla_breaches) AS latest_times"""
        )
        return row[0] if row else None

    def any_overdue(self, as_of: dt.datetime) -> bool:
        """Whether a lead awaiting acceptance is past its deadline (a breach to record)."""
        row = self.store._one(
            "SELECT count(*) FROM lead_state WHERE stage = 'sal_pending' AND due_at <= ?",
            [as_of],
        )
        return bool(row and row[0])

    def state(self, lead_key: int) -> LeadState:
        return self.states([lead_key]).get(lead_key, LeadState(lead_key))

    def _rows_for_keys(self, table: str, columns: list[str], keys: list[int]) -> list[tuple[Any, ...]]:
        return self.store.rows_for_keys(table, columns, keys)

    def facts_of(self, lead_key: int) -> list[Fact]:
        """A lead's lifecycle facts in the order they were recorded."""
        found: list[tuple[int, Fact]] = []
        for fact_type, (table, _) in TABLE_OF.items():
            names = [field.name for field in fields(fact_type)]
            rows = self.store._run(f"SELECT seq, {_quoted(names)} FROM {table} WHERE lead_key = ?", [lead_key])
            found += [(row[0], _fact(fact_type, dict(zip(names, row[1:], strict=True)))) for row in rows]
        return [fact for _, fact in sorted(found, key=lambda pair: pair[0])]

    def handlers_of(self, lead_key: int) -> set[tuple[str | None, str | None]]:
        """Every (owner, team) the lead was ever assigned to."""
        rows = self.store._run("SELECT DISTINCT owner, team FROM assignments WHERE lead_key = ?", [lead_key])
        return {(owner, team) for owner, team in rows}

    def facts_by_lead(self) -> dict[int, list[Fact]]:
        """Every lead's lifecycle facts, in order (to rebuild or check the states)."""
        found: dict[int, list[tuple[int, Fact]]] = {}
        for fact_type, (table, _) in TABLE_OF.items():
            names = [field.name for field in fields(fact_type)]
            for row in self.store._run(f"SELECT seq, {_quoted(names)} FROM {table}"):
                fact = _fact(fact_type, dict(zip(names, row[1:], strict=True)))
                found.setdefault(fact.lead_key, []).append((row[0], fact))
        return {key: [fact for _, fact in sorted(pairs, key=lambda pair: pair[0])] for key, pairs in found.items()}

    # -- writing ---------------------------------------------------------------------------
    def record(self, facts: Sequence[Fact], expected: Mapping[int, int] | None = None) -> dict[int, LeadState]:
        """Append facts and the states they lead to, all or nothing; return the new states.

        ``expected`` maps a lead key to the version the caller based its facts on.
        """
        if not facts:
            return {}
        started = time.perf_counter()
        keys = sorted({fact.lead_key for fact in facts})
        try:
            with self.store.transaction():
                self.store.lock_lifecycle()
                current = self._states_or_new(keys)
                for key, version in (expected or {}).items():
                    if current[key].version != version:
                        raise Conflict(
                            f"the lead changed while this was decided (version {version}, now "
                            f"{current[key].version}: {current[key].stage}); look again"
                        )
                states = dict(current)
                for fact in facts:
                    states[fact.lead_key] = apply(states[fact.lead_key], fact)
                self._append(facts)
                self._write_states([states[key] for key in keys])
        except StoreError as exc:
            if self.store.is_write_conflict(exc.__cause__):
                raise Conflict("someone else acted on this lead at the same moment; look again") from None
            raise
        finally:
            self.write_seconds += time.perf_counter() - started
        return {key: states[key] for key in keys}

    def _states_or_new(self, keys: list[int]) -> dict[int, LeadState]:
        found = self.states(keys)
        return {key: found.get(key, LeadState(key)) for key in keys}

    def _append(self, facts: Sequence[Fact]) -> None:
        seqs = iter(self.store.next_seqs(len(facts)))
        by_table: dict[str, list[dict[str, Any]]] = {}
        for fact in facts:
            table, letter = TABLE_OF[type(fact)]
            seq = next(seqs)
            by_table.setdefault(table, []).append({"fact_id": f"{letter}{seq}", "seq": seq, **_row(fact)})
        for table, rows in by_table.items():
            self._insert(table, rows)

    def _insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        columns = LIFECYCLE_TABLES[table] if table in LIFECYCLE_TABLES else DERIVED_TABLES[table]
        schema = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in columns.items()])
        data = pa.table({name: [row.get(name) for row in rows] for name in columns}, schema=schema)
        self.store.append_rows(table, data)

    def _write_states(self, states: list[LeadState]) -> None:
        self.store.delete_keys(LEAD_STATE_TABLE, [state.lead_key for state in states])
        self._insert(LEAD_STATE_TABLE, [_state_row(state) for state in states])

    def rebuild_states(self) -> int:
        """Recompute every lead state from the facts (derived data: safe to run any time)."""
        from leadgate.lifecycle.facts import fold

        states = [fold(key, facts) for key, facts in self.facts_by_lead().items()]
        with self.store.transaction():
            self.store.lock_lifecycle()
            self.store._run("DELETE FROM lead_state")
            if states:
                self._insert(LEAD_STATE_TABLE, [_state_row(state) for state in states])
        return len(states)

    # -- absences --------------------------------------------------------------------------
    def absences(self) -> list[Absence]:
        """Absences in force: for each rep and dates, the latest fact says (a cancellation, or a new entry)."""
        rows = self.store._run(
            """SELECT rep, start_date, end_date FROM (
                   SELECT rep, start_date, end_date, cancelled, row_number() OVER (
                       PARTITION BY rep, start_date, end_date ORDER BY CAST(substr(fact_id, 2) AS BIGINT) DESC) AS latest
                   FROM absences WHERE cancelled IS NOT NULL) AS facts
               WHERE latest = 1 AND cancelled IS NOT TRUE ORDER BY rep, start_date"""
        )
        return [Absence(rep, start, end) for rep, start, end in rows]

    def record_absence(self, absence: Absence, at: dt.datetime, cancelled: bool = False) -> None:
        seq = self.store.next_seqs(1)[0]
        self._insert(
            "absences",
            [
                {
                    "fact_id": f"x{seq}",
                    "rep": absence.rep,
                    "start_date": absence.start,
                    "end_date": absence.end,
                    "recorded_at": at,
                    "cancelled": cancelled,
                }
            ],
        )

    # -- routing inputs --------------------------------------------------------------------
    def open_leads_by_owner(self) -> dict[str, int]:
        rows = self.store._run(
            "SELECT owner, count(*) FROM lead_state WHERE stage IN ('sal_pending', 'sal') AND owner IS NOT NULL GROUP BY owner"
        )
        return {owner: int(count) for owner, count in rows}

    def last_assigned_by_team(self, method: str) -> dict[str, str]:
        rows = self.store._run(
            """SELECT team, owner FROM (
                   SELECT team, owner, row_number() OVER (PARTITION BY team ORDER BY seq DESC) AS latest
                   FROM assignments WHERE method = ? AND team IS NOT NULL AND owner IS NOT NULL) AS latest_assignments
               WHERE latest = 1""",
            [method],
        )
        return {team: owner for team, owner in rows}

    def assigned_counts_by_team(self, method: str) -> dict[str, dict[str, int]]:
        rows = self.store._run(
            "SELECT team, owner, count(*) FROM assignments WHERE method = ? AND team IS NOT NULL GROUP BY team, owner",
            [method],
        )
        counts: dict[str, dict[str, int]] = {}
        for team, owner, count in rows:
            counts.setdefault(team, {})[owner] = int(count)
        return counts


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


# A shallow read of these fields makes a row: ``asdict`` deep-copies every value, which made
# writing the 220k facts and 110k states of a first cycle over 1M leads take 20 s.
_FIELD_NAMES: dict[type, tuple[str, ...]] = {
    kind: tuple(field.name for field in fields(kind)) for kind in (*TABLE_OF, LeadState)
}


def _row(fact: Fact) -> dict[str, Any]:
    row = {name: getattr(fact, name) for name in _FIELD_NAMES[type(fact)]}
    for name, value in row.items():
        if isinstance(value, (Stage, Cause)):
            row[name] = value.value
    return row


def _fact(fact_type: type, values: dict[str, Any]) -> Fact:
    if fact_type is TransitionFact:
        values = {
            **values,
            "source": Stage(values["source"]),
            "target": Stage(values["target"]),
            "cause": Cause(values["cause"]),
        }
    return fact_type(**values)  # type: ignore[no-any-return]


def _state(row: tuple[Any, ...]) -> LeadState:
    return state_from(dict(zip(_STATE_COLUMNS, row, strict=True)))


def state_from(values: Mapping[str, Any]) -> LeadState:
    """A lead's state from a row holding ``lead_state``'s columns (alone, or joined with others);
    a row without a stage is a lead that never moved."""
    if values.get("stage") is None:
        return LeadState(int(values["lead_key"]))
    fields: dict[str, Any] = {name: values.get(name) for name in _STATE_COLUMNS}
    fields["stage"] = Stage(fields["stage"])
    return LeadState(**fields)


def _state_row(state: LeadState) -> dict[str, Any]:
    row = {name: getattr(state, name) for name in _FIELD_NAMES[LeadState]}
    row["stage"] = state.stage.value
    return row
