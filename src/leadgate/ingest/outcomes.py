"""Outcomes from a CRM export: which leads became opportunities, were won or lost, and when.

A CSV (or Parquet) with ``lead_id`` and either an ``outcome`` column (``opportunity``, ``won``,
``lost``) with an ``at`` time, or date columns ``opportunity_at``, ``won_at``, ``lost_at``
(one outcome per filled cell). ``--map`` renames columns, as for leads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from leadgate.errors import InputError, Issue
from leadgate.ingest import readers
from leadgate.ingest.rows import RowProblem, parse_time
from leadgate.ingest.tables import ColumnMap
from leadgate.lifecycle.decisions import OUTCOME_KINDS

DATE_COLUMNS = {f"{kind}_at": kind for kind in OUTCOME_KINDS}


@dataclass(frozen=True)
class OutcomeRow:
    """One outcome read from a CRM export: the lead, what happened, when, and its line."""

    line: int
    lead_id: str
    outcome: str
    at: dt.datetime


def read_outcomes(path: Path, column_map: ColumnMap) -> list[OutcomeRow]:
    """Every outcome of the file, or :class:`InputError` listing every bad row."""
    readers.check_readable(path)
    file_format = readers.detect_format(path)
    if file_format == "jsonl":
        raise InputError(f"{path}: outcomes are imported from CSV or Parquet with a header")
    outcomes: list[OutcomeRow] = []
    issues: list[Issue] = []
    checked = False
    for record in readers.read_records(path, file_format):
        fields = column_map.apply(record.fields or {})
        if not checked:
            columns = [name for name in record.fields or {} if not name.startswith("__")]
            column_map.check_columns(columns, ["lead_id"], str(path))
            if "outcome" not in fields and not DATE_COLUMNS.keys() & fields.keys():
                raise InputError(
                    f"{path}: needs an 'outcome' column (with 'at') or date columns {', '.join(DATE_COLUMNS)}"
                )
            checked = True
        try:
            outcomes += _row_outcomes(record.line, fields)
        except RowProblem as problem:
            issues.append(Issue(str(path), record.line, 0, problem.code, str(problem)))
    if not checked:
        raise InputError(f"{path}: no outcome rows (a header and at least one row are needed)")
    if issues:
        plural = "s" if len(issues) != 1 else ""
        raise InputError(f"{path}: {len(issues)} bad row{plural}; nothing was imported", issues)
    unique = {(row.lead_id, row.outcome, row.at): row for row in reversed(outcomes)}  # a repeated row counts once
    return sorted(unique.values(), key=lambda row: row.line)


def _row_outcomes(line: int, fields: dict[str, object]) -> list[OutcomeRow]:
    lead_id = str(fields.get("lead_id") or "").strip()
    if not lead_id:
        raise RowProblem("IM002", "a lead_id is required", "lead_id")
    if "outcome" in fields:
        outcome = str(fields.get("outcome") or "").strip().lower()
        if outcome not in OUTCOME_KINDS:
            raise RowProblem("IM005", f"{outcome!r} is not an outcome ({', '.join(OUTCOME_KINDS)})", "outcome")
        return [OutcomeRow(line, lead_id, outcome, parse_time(fields.get("at"), "at"))]
    found = [
        OutcomeRow(line, lead_id, kind, parse_time(fields[column], column))
        for column, kind in DATE_COLUMNS.items()
        if str(fields.get(column) or "").strip()
    ]
    if not found:
        raise RowProblem("IM002", f"no outcome date in {', '.join(DATE_COLUMNS)}", "won_at")
    if {"won", "lost"} <= {row.outcome for row in found}:
        raise RowProblem("IM005", "a deal is won or lost, not both: keep one of won_at and lost_at", "lost_at")
    return found
