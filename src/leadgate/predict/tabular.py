"""``leadgate train --csv``: a predictive model from any table of leads, evaluated honestly.

A CRM export is read (``table_read``), its columns typed and encoded (``table_columns``),
columns filled in after the outcome are flagged and left out (``table_leakage``), then
LightGBM and the logistic-regression baseline (``learners``) are evaluated by stratified
5-fold cross-validation: each fold is predicted by models that never saw it, and the metrics
are computed once over all the held-out predictions. Inside each training part, 20% is kept
aside to stop the boosting and calibrate the probabilities.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict
from sklearn.model_selection import StratifiedKFold, train_test_split

from leadgate.errors import InputError, UserError
from leadgate.predict.learners import MinimumData, fit_classifier
from leadgate.predict.metrics import Metrics, evaluate
from leadgate.predict.table_columns import ColumnReport, Features, prepare_features
from leadgate.predict.table_leakage import LeakageSuspect, find_suspects
from leadgate.predict.table_read import LeadTable, read_lead_table

FOLDS = 5
VALIDATION_SHARE = 0.2
MINIMUM_ROWS = 100
MINIMUM_PER_OUTCOME = 30
"""With 30 of each outcome, each held-out fold has 6 and each inner validation part about 5."""
PER_FOLD_MINIMUM = MinimumData(rows=1, per_outcome=1, validation_per_outcome=1)
TOP_FEATURES = 10

FoldProgress = Callable[[int, int], None]


class FeatureWeight(BaseModel):
    """How much a feature moved the held-out predictions: mean absolute contribution, in log-odds."""

    model_config = ConfigDict(frozen=True)

    feature: str
    mean_abs_log_odds: float


class TableReport(BaseModel):
    """What ``train --csv`` found: cross-validated metrics of both models, suspects, columns."""

    file: str
    target: str
    n_rows: int
    positive_rate: float
    rows_without_target: int
    folds: int
    seed: int
    roc_auc: float | None
    pr_auc: float | None
    top_decile_lift: float | None
    brier: float
    expected_calibration_error: float
    fold_roc_auc: list[float | None]
    metrics: Metrics
    baseline: Metrics
    leakage_suspects: list[LeakageSuspect]
    suspects_excluded: bool
    top_features: list[FeatureWeight]
    columns_used: list[ColumnReport]
    columns_ignored: list[ColumnReport]


def train_on_table(
    path: Path,
    target: str,
    *,
    id_column: str | None = None,
    exclude: list[str] | None = None,
    keep_suspects: bool = False,
    seed: int = 0,
    progress: FoldProgress | None = None,
) -> TableReport:
    """Read, type, screen for leakage and cross-validate; see the module docstring."""
    table = read_lead_table(path, target)
    _check_named_columns(table, id_column, exclude or [])
    _check_minimum(table)
    features = prepare_features(table.cells, id_column, exclude or [])
    found = find_suspects(features.frame, features.categorical, features.source, table.target, seed)
    suspects = [
        LeakageSuspect(column=c, single_feature_auc=v, missingness_auc=m, reason=r, excluded=not keep_suspects)
        for c, v, m, r in found
    ]
    if not keep_suspects:
        features = _without(features, {suspect.column for suspect in suspects})
    if features.frame.shape[1] == 0:
        raise InputError(f"{path}: no column is usable as a feature (see the column kinds with --keep-suspects)")
    lightgbm, baseline, fold_aucs, weights = _cross_validate(features, table.target, seed, progress)
    metrics = evaluate(table.target, lightgbm)
    return TableReport(
        file=table.path,
        target=target,
        n_rows=metrics.n_rows,
        positive_rate=metrics.positive_rate,
        rows_without_target=table.rows_without_target,
        folds=FOLDS,
        seed=seed,
        roc_auc=metrics.roc_auc,
        pr_auc=metrics.pr_auc,
        top_decile_lift=metrics.top_decile_lift,
        brier=metrics.brier,
        expected_calibration_error=metrics.expected_calibration_error,
        fold_roc_auc=fold_aucs,
        metrics=metrics,
        baseline=evaluate(table.target, baseline),
        leakage_suspects=suspects,
        suspects_excluded=not keep_suspects,
        top_features=weights,
        columns_used=[column for column in features.columns if column.used],
        columns_ignored=[column for column in features.columns if not column.used],
    )


def _check_named_columns(table: LeadTable, id_column: str | None, exclude: list[str]) -> None:
    named = ([id_column] if id_column else []) + exclude
    unknown = [name for name in named if name not in table.cells.columns]
    if unknown:
        raise InputError(
            f"{table.path}: no column {', '.join(map(repr, unknown))}; the columns are: "
            f"{', '.join([*table.cells.columns, table.target_column])}"
        )


def _check_minimum(table: LeadTable) -> None:
    converted = int(table.target.sum())
    others = table.target.size - converted
    if table.target.size < MINIMUM_ROWS or min(converted, others) < MINIMUM_PER_OUTCOME:
        raise UserError(
            f"{table.path}: too few rows to train and evaluate a model: {table.target.size} rows with "
            f"{converted} converted and {others} not; at least {MINIMUM_ROWS} rows and {MINIMUM_PER_OUTCOME} "
            "of each outcome are needed"
        )


def _without(features: Features, columns: set[str]) -> Features:
    """The features less those that come from ``columns`` (their reports say why)."""
    dropped = [name for name in features.frame.columns if features.source[name] in columns]
    reports = [
        column.model_copy(update={"used": False, "note": "leakage suspect, left out (see leakage_suspects)"})
        if column.name in columns
        else column
        for column in features.columns
    ]
    return Features(
        frame=features.frame.drop(columns=dropped),
        categorical=[name for name in features.categorical if name not in dropped],
        source={name: source for name, source in features.source.items() if name not in dropped},
        columns=reports,
    )


def _cross_validate(
    features: Features, target: NDArray[np.bool_], seed: int, progress: FoldProgress | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], list[float | None], list[FeatureWeight]]:
    """Held-out probabilities of LightGBM and the baseline, each fold's AUC, and the top features."""
    rows = target.size
    lightgbm, baseline = np.zeros(rows), np.zeros(rows)
    fold_aucs: list[float | None] = []
    weight_sum = np.zeros(features.frame.shape[1])
    splitter = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    for number, (learn, held_out) in enumerate(splitter.split(np.zeros(rows), target)):
        fit_rows, valid_rows = train_test_split(
            learn, test_size=VALIDATION_SHARE, stratify=target[learn], random_state=seed + number
        )
        model = fit_classifier(
            features.frame,
            target,
            train=_mask(rows, fit_rows),
            validation=_mask(rows, valid_rows),
            categorical=features.categorical,
            seed=seed,
            minimum=PER_FOLD_MINIMUM,
        )
        part = features.frame.iloc[held_out]
        lightgbm[held_out] = model.predict(part)
        baseline[held_out] = model.predict_baseline(part)
        fold_aucs.append(evaluate(target[held_out], lightgbm[held_out]).roc_auc)
        weight_sum += model.contributions(part)[list(model.features)].abs().sum().to_numpy()
        if progress:
            progress(number + 1, FOLDS)
    order = np.argsort(-weight_sum, kind="stable")[:TOP_FEATURES]
    weights = [
        FeatureWeight(feature=str(features.frame.columns[i]), mean_abs_log_odds=float(weight_sum[i] / rows))
        for i in order
    ]
    return lightgbm, baseline, fold_aucs, weights


def _mask(size: int, rows: NDArray[np.intp]) -> NDArray[np.bool_]:
    mask = np.zeros(size, dtype=bool)
    mask[rows] = True
    return mask
