"""Lead-by-lead comparison of two score tables: the proof that two timings measure the same work."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb

TOLERANCE = 1e-6


@dataclass(frozen=True)
class Comparison:
    """How two score tables differ, over the leads compared."""

    leads: int
    unmatched_leads: int  # leads present on one side only
    text_mismatches: dict[str, int]  # per text column: leads whose values differ
    max_abs_difference: float
    worst_column: str
    per_column: dict[str, float]

    @property
    def agrees(self) -> bool:
        return (
            self.unmatched_leads == 0 and not any(self.text_mismatches.values()) and self.max_abs_difference < TOLERANCE
        )

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"agrees": self.agrees, "tolerance": TOLERANCE}


def compare_tables(
    con: duckdb.DuckDBPyConnection,
    expected: str,
    actual: str,
    numbers: list[str],
    texts: list[str],
    only_actual_where: str = "TRUE",
) -> Comparison:
    """Compare ``actual`` with ``expected`` on the leads of ``actual`` that pass ``only_actual_where``.

    A number missing on one side only counts as an infinite difference. Without a filter,
    leads missing from either table count as unmatched.
    """
    number_checks = [
        f"max(CASE WHEN (a.{column} IS NULL) <> (e.{column} IS NULL) THEN 'Infinity'::DOUBLE "
        f"ELSE abs(a.{column}::DOUBLE - e.{column}::DOUBLE) END)"
        for column in numbers
    ]
    text_checks = [f"count(*) FILTER (WHERE a.{column} IS DISTINCT FROM e.{column})" for column in texts]
    join = "FULL OUTER JOIN" if only_actual_where == "TRUE" else "LEFT JOIN"
    row = con.execute(
        f"""
        SELECT count(*), count(*) FILTER (WHERE a.lead_key IS NULL OR e.lead_key IS NULL),
               {", ".join([*number_checks, *text_checks])}
        FROM (SELECT * FROM {actual} WHERE {only_actual_where}) a
        {join} {expected} e ON a.lead_key = e.lead_key
        """
    ).fetchone()
    assert row is not None
    leads, unmatched, *values = row
    per_column = {column: float(value or 0.0) for column, value in zip(numbers, values, strict=False)}
    mismatches = {column: int(value) for column, value in zip(texts, values[len(numbers) :], strict=True)}
    worst = max(per_column, key=per_column.__getitem__)
    return Comparison(int(leads), int(unmatched), mismatches, per_column[worst], worst, per_column)


def score_columns(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[str], list[str]]:
    """The numeric and the other result columns of a score table (keys and stamps left out)."""
    numbers: list[str] = []
    texts: list[str] = []
    for name, kind, *_ in con.execute(f"DESCRIBE {table}").fetchall():
        if name in ("lead_key", "as_of", "playbook_version"):
            continue
        numeric = kind.startswith(("DECIMAL", "DOUBLE", "FLOAT", "BIGINT", "INTEGER", "HUGEINT", "SMALLINT"))
        (numbers if numeric else texts).append(name)
    return numbers, texts
