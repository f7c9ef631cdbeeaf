"""What each column of a lead table is, and how it becomes model features.

Kinds are inferred from the values (cells are text, ``None`` where missing):

- **number**: at least 95% of the filled cells read as numbers (``1,200``, ``$300`` and ``12%``
  too); the others become missing.
- **category**: short values that repeat. Levels with fewer than ``max(10, 0.5% of rows)`` rows
  are grouped into ``other`` (a level seen a handful of times teaches nothing but noise), and
  at most ``MAX_LEVELS`` levels are kept. A column with more distinct values than that (a
  company name, a city) is high-cardinality: besides its frequent levels it gets a
  ``<column>_frequency`` number, how many rows share the value (how many leads came from the
  same company), which carries over to new leads without using the target.
- **date**: ignored. A lead's creation date mostly tells how long it has had to convert, which
  says nothing about a lead created today.
- **text**: free text (several words, rarely repeated), ignored and listed.
- **id**: a different value on almost every row (ids, e-mails, names), ignored.
- **empty** and **constant** columns are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
from pydantic import BaseModel, ConfigDict

NUMBER_SHARE = 0.95
MAX_LEVELS = 30
RARE_ROWS = 10
RARE_SHARE = 0.005
OTHER = "other"
TEXT_WORDS = 3
ID_DISTINCT_SHARE = 0.9
ID_NAME = re.compile(r"(^|[_\s.-])(id|uuid|guid|key)$|^id$|e-?mail", re.IGNORECASE)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T].*)?$|^\d{1,2}/\d{1,2}/\d{2,4}([ T].*)?$")
NUMBER_NOISE = re.compile(r"[,\s$€£%]")


class ColumnReport(BaseModel):
    """One column of the table: its kind, whether the model uses it, and how or why not."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str
    used: bool
    note: str


@dataclass(frozen=True)
class Features:
    """Model-ready features, which of them are categories, and the source column of each."""

    frame: pd.DataFrame
    categorical: list[str]
    source: dict[str, str]
    columns: list[ColumnReport]


def prepare_features(cells: pd.DataFrame, id_column: str | None, exclude: list[str]) -> Features:
    """Infer each column's kind and encode the usable ones (see the module docstring)."""
    frame: dict[str, pd.Series] = {}
    categorical: list[str] = []
    source: dict[str, str] = {}
    reports = []
    for name in cells.columns:
        values = cells[name]
        if name == id_column:
            reports.append(ColumnReport(name=name, kind="id", used=False, note="the --id column"))
            continue
        if name in exclude:
            reports.append(ColumnReport(name=name, kind="excluded", used=False, note="--exclude"))
            continue
        kind, note = infer_kind(name, values)
        if kind == "number":
            frame[name] = to_numbers(values)
            source[name] = name
        elif kind == "category":
            encoded, frequency, note = encode_category(values)
            if encoded is not None:
                frame[name] = encoded
                categorical.append(name)
                source[name] = name
            if frequency is not None:
                frame[f"{name}_frequency"] = frequency
                source[f"{name}_frequency"] = name
        reports.append(ColumnReport(name=name, kind=kind, used=kind in ("number", "category"), note=note))
    return Features(pd.DataFrame(frame, index=cells.index), categorical, source, reports)


def infer_kind(name: str, values: pd.Series) -> tuple[str, str]:
    """The kind of a column, and a note for the report."""
    known = values.dropna()
    if known.empty:
        return "empty", "no values"
    distinct = known.nunique()
    if distinct == 1:
        return "constant", f"always {known.iloc[0]!r}"
    distinct_share = distinct / known.size
    looks_like_id = known.size >= 20 and distinct_share >= ID_DISTINCT_SHARE
    if to_numbers(known).notna().mean() >= NUMBER_SHARE:
        if looks_like_id and ID_NAME.search(name):
            return "id", "a different number on almost every row, named like an id"
        return "number", "as a number"
    if known.str.match(DATE).mean() >= NUMBER_SHARE:
        return "date", "ignored: a lead's date mostly tells how long it has had to convert"
    words = known.map(lambda value: len(str(value).split())).median()
    if words >= TEXT_WORDS and distinct_share >= 0.3:
        return "text", "free text, ignored"
    if looks_like_id:
        return "id", "a different value on almost every row (an id, a name or an e-mail)"
    return "category", ""


def to_numbers(values: pd.Series) -> pd.Series:
    """Numbers as floats (thousands separators, currency and percent signs dropped); NaN otherwise."""
    cleaned = values.map(lambda value: None if value is None else NUMBER_NOISE.sub("", str(value)))
    return pd.to_numeric(cleaned, errors="coerce").astype(float)


def encode_category(values: pd.Series) -> tuple[pd.Series | None, pd.Series | None, str]:
    """Frequent levels kept, rare ones as ``other``; a frequency number for a high-cardinality column.

    Returns the category column (``None`` when no level is frequent enough to keep), the
    frequency column (``None`` unless high-cardinality) and a note for the report.
    """
    counts = values.value_counts(dropna=True)
    threshold = max(RARE_ROWS, RARE_SHARE * len(values))
    kept = list(counts[counts >= threshold].index[:MAX_LEVELS])
    high_cardinality = counts.size > MAX_LEVELS
    grouped = counts.size - len(kept)
    encoded = values.where(values.isna() | values.isin(kept), OTHER)
    note = f"{len(kept)} levels" + (f", {grouped} rare ones as {OTHER!r}" if grouped else "")
    frequency = None
    if high_cardinality:
        frequency = values.map(counts).astype(float)
        note += f"; high-cardinality ({counts.size} values): plus how many rows share the value"
    if not kept:
        return None, frequency, note
    return encoded, frequency, note
