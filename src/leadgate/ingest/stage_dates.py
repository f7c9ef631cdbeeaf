"""Stage dates from a CRM export of leads: when each lead became an MQL, PQL, SAL or SQL.

A leads file may carry the columns ``mql_at``, ``pql_at``, ``sal_at`` and ``sql_at`` (usually
through ``--map mql_at="First MQL Date"``). Besides its traits, each lead still at ``inquiry``
then gets the moves those dates say, recorded as lifecycle facts by the actor ``crm-import``
and checked against the stage machine like any move: inquiry -> MQL (or PQL) at its date;
then, with an SAL or SQL date, assigned and accepted at the SAL date (the SQL date when there
is none) and SQL at the SQL date. Outcomes (opportunity, won, lost) come from ``leadgate
import outcomes``. No assignment is recorded: imported leads have no owner.

Like outcomes, the file's moves are all or nothing, and importing the same file again
records nothing new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from leadgate.domain.stages import Stage
from leadgate.errors import InputError, Issue, UserError
from leadgate.ingest import readers
from leadgate.ingest.rows import RowProblem, parse_time
from leadgate.ingest.tables import ColumnMap
from leadgate.lifecycle.facts import Fact, LeadState, Moment, TransitionFact, apply, checked_move
from leadgate.lifecycle.machine import Cause, transitions_of
from leadgate.playbook.compiled import Playbook
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore

IMPORT_ACTOR = "crm-import"
STAGE_COLUMNS = ("mql_at", "pql_at", "sal_at", "sql_at")


@dataclass(frozen=True)
class StageDates:
    """The stage dates of one row of a leads file."""

    line: int
    lead_id: str
    dates: dict[str, dt.datetime]  # column -> moment, for the filled cells


@dataclass(frozen=True)
class StageDatesApplied:
    leads_moved: int
    moves: int
    already_recorded: int


def read_stage_dates(path: Path, column_map: ColumnMap) -> list[StageDates]:
    """The rows with at least one stage date ([] when the file has no stage-date column)."""
    file_format = readers.detect_format(path)
    if file_format == "jsonl":
        return []
    found: list[StageDates] = []
    issues: list[Issue] = []
    for record in readers.read_records(path, file_format):
        fields = column_map.apply(record.fields or {})
        if not _has_stage_columns(fields):
            return []
        filled = {column: fields[column] for column in STAGE_COLUMNS if str(fields.get(column) or "").strip()}
        try:
            dates = {column: parse_time(value, column) for column, value in filled.items()}
        except RowProblem as problem:
            issues.append(Issue(str(path), record.line, 0, problem.code, str(problem)))
            continue
        if dates:
            found.append(StageDates(record.line, str(fields.get("lead_id") or "").strip(), dates))
    if issues:
        raise InputError(
            f"{path}: {len(issues)} bad stage date{'s' if len(issues) != 1 else ''}; nothing was imported", issues
        )
    return found


def _has_stage_columns(fields: dict[str, object]) -> bool:
    return any(column in fields for column in STAGE_COLUMNS)


def moves_for(state: LeadState, row: StageDates, playbook: Playbook) -> list[Fact]:
    """The moves a row's dates say, from inquiry, each checked by the stage machine."""
    table = transitions_of(playbook.model)
    dates = row.dates
    qualified_at = dates.get("pql_at") or dates.get("mql_at") or min(dates.values())
    accepted_at = dates.get("sal_at") or dates.get("sql_at")
    chain: list[tuple[Stage, Cause, dt.datetime, str]] = [
        (
            Stage.PQL if "pql_at" in dates else Stage.MQL,
            Cause.RULE,
            qualified_at,
            "pql_at" if "pql_at" in dates else "mql_at",
        )
    ]
    accepted_column = "sal_at" if "sal_at" in dates else "sql_at"
    if accepted_at is not None:
        if playbook.model.stages.sal.enabled:
            chain.append((Stage.SAL_PENDING, Cause.ROUTING, accepted_at, accepted_column))
            chain.append((Stage.SAL, Cause.DECISION, accepted_at, accepted_column))
        else:
            chain.append((Stage.SAL, Cause.ROUTING, accepted_at, accepted_column))
    if "sql_at" in dates:
        chain.append((Stage.SQL, Cause.DECISION, dates["sql_at"], "sql_at"))
    facts: list[Fact] = []
    for target, cause, moment, column in chain:
        if state.since is not None and moment < state.since:
            raise UserError(
                f"{column} {moment:%Y-%m-%d %H:%M} comes before the lead became {state.stage} ({state.since:%Y-%m-%d %H:%M})"
            )
        move = checked_move(
            table,
            state,
            target,
            cause,
            f"from a CRM export ({column})",
            IMPORT_ACTOR,
            moment,
            playbook.version,
            Moment(),
        )
        facts.append(move)
        state = apply(state, move)
    return facts


def check_stage_dates(rows: Sequence[StageDates], playbook: Playbook, source: str) -> None:
    """Refuse, before anything is imported, rows whose dates are out of order or lack a lead id."""
    issues = []
    for row in rows:
        try:
            if not row.lead_id:
                raise UserError("a lead_id is required")
            moves_for(LeadState(0), row, playbook)
        except UserError as problem:
            issues.append(Issue(source, row.line, 0, "IM008", str(problem)))
    if issues:
        raise InputError(
            f"{source}: {len(issues)} row{'s' if len(issues) != 1 else ''} with stage dates out of order; nothing was imported",
            issues,
        )


def apply_stage_dates(store: Store, playbook: Playbook, rows: Sequence[StageDates], source: str) -> StageDatesApplied:
    """Record the moves of every row, all or nothing; every row that cannot be applied is reported."""
    lifecycle = LifecycleStore(store)
    facts: list[Fact] = []
    expected: dict[int, int] = {}
    issues: list[Issue] = []
    already = moved = 0
    for row in rows:
        try:
            lead_key = store.lead_key_of(row.lead_id)
            if lead_key is None:
                raise UserError(f"no lead with the id {row.lead_id!r}")
            state = lifecycle.state(lead_key)
            if _already_recorded(lifecycle.facts_of(lead_key)):
                already += 1
                continue
            if state.stage != Stage.INQUIRY:
                raise UserError(
                    f"lead {row.lead_id} has already moved (it is {state.stage}); stage dates apply to leads at inquiry"
                )
            made = moves_for(state, row, playbook)
        except UserError as problem:
            issues.append(Issue(source, row.line, 0, "IM008", str(problem)))
            continue
        expected[lead_key] = state.version
        facts += made
        moved += 1
    if issues:
        raise InputError(
            f"{source}: {len(issues)} lead{'s' if len(issues) != 1 else ''} cannot take their stage dates; nothing was imported",
            issues,
        )
    lifecycle.record(facts, expected)
    return StageDatesApplied(moved, len(facts), already)


def _already_recorded(facts: Sequence[Fact]) -> bool:
    return any(
        isinstance(fact, TransitionFact) and fact.actor == IMPORT_ACTOR and fact.cause == Cause.RULE for fact in facts
    )
