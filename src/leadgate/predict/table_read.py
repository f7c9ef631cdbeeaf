"""Reading a CRM export: cells as text, placeholders as missing, the target as yes or no.

Every cell is read as text first, whatever the file's own types, so that one rule decides
what is missing (``Select``, ``N/A``, ``-``, ... as CRMs write "nobody filled this in") and
column kinds are inferred from the values, not from a guess of the CSV reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from leadgate.errors import InputError, NotFound

PLACEHOLDERS = frozenset({"", "select", "--select--", "n/a", "na", "-", "--", "none", "null", "nan", "#n/a"})
"""Cell values that mean "not filled in" (compared case-insensitively, spaces trimmed)."""

TRUE_WORDS = frozenset({"1", "1.0", "true", "t", "yes", "y", "converted", "won", "closed won", "closed_won", "win"})
FALSE_WORDS = frozenset(
    {"0", "0.0", "false", "f", "no", "n", "not converted", "unconverted", "lost", "closed lost", "closed_lost", "loss"}
)


@dataclass(frozen=True)
class LeadTable:
    """The cells of a lead table (text, ``None`` where missing) and its target as booleans.

    ``cells`` excludes the target column and the rows whose target is missing (counted in
    ``rows_without_target``).
    """

    path: str
    target_column: str
    cells: pd.DataFrame
    target: NDArray[np.bool_]
    rows_without_target: int


def read_cells(path: Path) -> pd.DataFrame:
    """Every cell of a CSV or Parquet file as text, placeholders as ``None``."""
    if not path.exists():
        raise NotFound(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            raw = pd.read_parquet(path)
            raw = raw.astype(object).where(raw.notna(), None).map(lambda value: None if value is None else str(value))
        else:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty (no header, no rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read it as a table: {first_line}") from None
    if raw.empty:
        raise InputError(f"{path}: the file has a header but no rows")
    raw.columns = [str(column).strip() for column in raw.columns]
    return raw.map(_missing_or_text)


def _missing_or_text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text.lower() in PLACEHOLDERS else text


def read_lead_table(path: Path, target_column: str) -> LeadTable:
    """The cells and the yes/no target of a lead table; ``InputError`` naming what is wrong."""
    cells = read_cells(path)
    if target_column not in cells.columns:
        raise InputError(
            f"{path}: no column {target_column!r} for --target; the columns are: {', '.join(cells.columns)}"
        )
    raw_target = cells[target_column]
    known = raw_target.notna().to_numpy()
    target = _parse_target(path, target_column, raw_target[known])
    kept = cells.loc[known].drop(columns=[target_column]).reset_index(drop=True)
    if not target.any() or target.all():
        only = "converted" if target.all() else "not converted"
        raise InputError(
            f"{path}: column {target_column!r} has only {only} rows ({target.size} of them); a model needs both"
        )
    return LeadTable(str(path), target_column, kept, target, int((~known).sum()))


def _parse_target(path: Path, column: str, values: pd.Series) -> NDArray[np.bool_]:
    """Yes/no words as booleans; any other value is an ``InputError`` that names it and its line."""
    lowered = values.str.lower()
    truthy, falsy = lowered.isin(TRUE_WORDS), lowered.isin(FALSE_WORDS)
    bad = values[~(truthy | falsy)]
    if bad.empty:
        return truthy.to_numpy(dtype=bool)
    first_row, first_value = bad.index[0], bad.iloc[0]
    raise InputError(
        f"{path}:{int(str(first_row)) + 2}: column {column!r} must say converted or not (1/0, true/false, yes/no, "
        f"won/lost); {first_value!r} is not one of them ({bad.size} such rows)"
    )
