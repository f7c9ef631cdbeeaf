"""``leadgate train``: the predictive model, from a table of leads (``--csv``) or, later, the history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from leadgate.cli.app import app
from leadgate.cli.output import console, number, print_json, step_progress
from leadgate.errors import UserError

if TYPE_CHECKING:
    from leadgate.predict.tabular import TableReport


@app.command()
def train(
    ctx: typer.Context,
    csv: Path | None = typer.Option(
        None, "--csv", help="A table of leads (CSV, or Parquet by its suffix), one row per lead, e.g. a CRM export."
    ),
    target: str | None = typer.Option(
        None, "--target", help="With --csv: the column that says whether the lead converted (1/0, yes/no, won/lost)."
    ),
    id_column: str | None = typer.Option(None, "--id", help="With --csv: the id column (never used as a feature)."),
    exclude: list[str] = typer.Option([], "--exclude", help="With --csv: a column to leave out (repeatable)."),
    keep_suspects: bool = typer.Option(
        False, "--keep-suspects", help="With --csv: train with the leakage suspects instead of leaving them out."
    ),
    seed: int = typer.Option(0, "--seed", help="The random seed of the folds and the models."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Train and evaluate the predictive model (docs/predict.md). With --csv: on a table of leads, by
    cross-validation, with leakage suspects flagged and left out."""
    if csv is None:
        from leadgate.cli.model_commands import train_from_workspace

        train_from_workspace(ctx, as_json, seed)
        return
    _train_from_csv(csv, target, id_column, exclude, keep_suspects, seed, as_json)


def _train_from_csv(
    csv: Path,
    target: str | None,
    id_column: str | None,
    exclude: list[str],
    keep_suspects: bool,
    seed: int,
    as_json: bool,
) -> None:
    from leadgate.predict.tabular import train_on_table  # LightGBM and scikit-learn load on demand

    if target is None:
        raise UserError("--target COLUMN is required with --csv: name the column that says whether a lead converted")
    with step_progress("cross-validating", not as_json) as progress:
        report = train_on_table(
            csv, target, id_column=id_column, exclude=exclude, keep_suspects=keep_suspects, seed=seed, progress=progress
        )
    if as_json:
        print_json(report)
        return
    _show(report)


def _show(report: TableReport) -> None:
    console.print(
        f"[bold]{report.file}[/]: {report.n_rows:,} leads, {report.positive_rate:.1%} converted "
        f"({report.target}); {report.folds}-fold cross-validation; baseline: logistic regression",
        highlight=False,
    )
    if report.rows_without_target:
        console.print(f"{report.rows_without_target:,} rows without a {report.target} value were left out.")
    metrics = Table("metric", "LightGBM", "baseline", "read it as")
    lightgbm, baseline = report.metrics, report.baseline
    rows = [
        ("ROC AUC", lightgbm.roc_auc, baseline.roc_auc, 3, "0.5: chance, 1: perfect"),
        ("PR AUC", lightgbm.pr_auc, baseline.pr_auc, 3, f"chance: {report.positive_rate:.3f}"),
        ("top-decile lift", lightgbm.top_decile_lift, baseline.top_decile_lift, 2, "chance: 1"),
        ("Brier score", lightgbm.brier, baseline.brier, 4, "lower is better"),
        ("calibration error", lightgbm.expected_calibration_error, baseline.expected_calibration_error, 4,
         "lower is better"),
    ]  # fmt: skip
    for name, first, second, digits, meaning in rows:
        metrics.add_row(name, number(first, digits), number(second, digits), meaning)
    console.print(metrics)
    if report.leakage_suspects:
        action = "left out" if report.suspects_excluded else "KEPT (--keep-suspects): the metrics are not honest"
        console.print(f"[bold yellow]Leakage suspects[/] ({action}):", highlight=False)
        for suspect in report.leakage_suspects:
            console.print(f"  {suspect.column}: {suspect.reason}", highlight=False)
    else:
        console.print("No leakage suspect.")
    top = ", ".join(f"{weight.feature} ({weight.mean_abs_log_odds:.2f})" for weight in report.top_features[:5])
    console.print(f"Top features (mean |log-odds|): {top}", highlight=False)
    ignored = ", ".join(f"{column.name} ({column.kind})" for column in report.columns_ignored)
    console.print(f"Used {len(report.columns_used)} columns; ignored: {ignored or 'none'}", highlight=False)
