"""Fitting the predictive model: LightGBM, calibrated, beside a logistic-regression baseline.

The caller brings a feature table (numbers and categories, one row per lead), a boolean
target and two disjoint row masks: ``train`` to grow the trees, ``validation`` to stop the
boosting, calibrate the probabilities and measure both models. How the rows are split (by
time for a history, by folds for a CRM table) is the caller's business.

Calibration is Platt scaling of LightGBM's raw log-odds (``sigmoid(slope * raw + intercept)``):
two parameters cannot overfit a validation part of a few hundred leads the way isotonic
regression's step function can, and a LightGBM trained on log-loss is already close to
calibrated, so a smooth monotonic correction is all it needs (the ranking, hence the ROC AUC,
is unchanged). The reported metrics use cross-fitted calibration (each half of the validation
part calibrated by the other half) so that they are not graded on the rows the calibrator saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from leadgate.errors import InputError, UserError
from leadgate.predict.metrics import Metrics, evaluate

MISSING_CATEGORY = "(missing)"


@dataclass(frozen=True)
class MinimumData:
    """How much history a model needs before its probabilities mean anything.

    Each outcome (converted and not) needs ``per_outcome`` rows overall and
    ``validation_per_outcome`` in the validation part, and there must be ``rows`` rows.
    Below about 40 converted leads the trees (leaves of at least 40 rows) cannot isolate a
    group of them and the model learns the base rate and little else. Ten of each outcome in the validation part keep the calibration's two
    parameters and the validation AUC from being mostly noise (the AUC's standard error with
    10 positives is about 0.08).
    """

    rows: int = 150
    per_outcome: int = 40
    validation_per_outcome: int = 10

    def check(self, target: NDArray[np.bool_], validation: NDArray[np.bool_]) -> None:
        """Raise ``UserError`` saying what is missing when the history is too thin."""
        converted, total = int(target.sum()), int(target.size)
        valid_converted, valid_total = int(target[validation].sum()), int(validation.sum())
        gaps = []
        if total < self.rows:
            gaps.append(f"{total} rows (at least {self.rows})")
        if min(converted, total - converted) < self.per_outcome:
            gaps.append(
                f"{converted} converted and {total - converted} not converted (at least {self.per_outcome} of each)"
            )
        if min(valid_converted, valid_total - valid_converted) < self.validation_per_outcome:
            gaps.append(
                f"{valid_converted} converted and {valid_total - valid_converted} not converted in the validation "
                f"part (at least {self.validation_per_outcome} of each)"
            )
        if gaps:
            raise UserError("too little history to train a model: " + "; ".join(gaps))


class Contribution(BaseModel):
    """One feature's push on one lead's prediction, in LightGBM's raw log-odds."""

    model_config = ConfigDict(frozen=True)

    feature: str
    value: float | str | None
    log_odds: float


class Explanation(BaseModel):
    """Why one lead got its probability: the base log-odds plus the features that moved it most.

    ``base_log_odds + sum(all contributions) == raw_log_odds`` (LightGBM's guarantee); only the
    ``top`` largest by absolute value are listed. ``probability`` is the calibrated one,
    ``sigmoid(slope * raw_log_odds + intercept)``: multiply a contribution by the model's
    ``calibration_slope`` to read it on the calibrated scale.
    """

    model_config = ConfigDict(frozen=True)

    probability: float
    raw_log_odds: float
    base_log_odds: float
    top: list[Contribution]


# Shallow trees (7 leaves of at least 40 rows), a slow rate and 70% of the features per tree:
# lead tables are small, noisy and mostly additive; on a logistic ground truth and on simulated
# CRM tables these settings came closest to the truth's own AUC. Deterministic, row-wise
# histograms and a fixed thread count make a seed reproduce the same model.
LIGHTGBM_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.7,
    "lambda_l2": 1.0,
    "cat_smooth": 10.0,
    "cat_l2": 10.0,
    "min_data_per_group": 50,
    "max_cat_to_onehot": 4,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
MAX_ROUNDS = 1000
EARLY_STOPPING_ROUNDS = 50


@dataclass
class FittedModel:
    """A trained LightGBM with its calibration, its baseline and their validation metrics (picklable)."""

    features: tuple[str, ...]
    categorical: tuple[str, ...]
    categories: dict[str, list[str]]
    booster: lgb.Booster
    best_iteration: int
    calibration_slope: float
    calibration_intercept: float
    baseline: Pipeline
    metrics: Metrics
    baseline_metrics: Metrics
    n_train: int
    n_validation: int
    seed: int

    def predict_raw(self, features: pd.DataFrame) -> NDArray[np.float64]:
        """LightGBM's uncalibrated log-odds."""
        raw = self.booster.predict(self._lightgbm_frame(features), num_iteration=self.best_iteration, raw_score=True)
        return np.asarray(raw, dtype=np.float64)

    def predict(self, features: pd.DataFrame) -> NDArray[np.float64]:
        """Calibrated probabilities of conversion, one per row."""
        return _platt(self.predict_raw(features), self.calibration_slope, self.calibration_intercept)

    def predict_baseline(self, features: pd.DataFrame) -> NDArray[np.float64]:
        """The logistic-regression baseline's probabilities (for comparison; not calibrated further)."""
        frame = _baseline_frame(self._lightgbm_frame(features), self.categorical)
        return np.asarray(self.baseline.predict_proba(frame)[:, 1], dtype=np.float64)

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Each feature's contribution to each row's raw log-odds, plus a ``bias`` column.

        Each row sums to ``predict_raw`` (the per-prediction SHAP values of LightGBM).
        """
        matrix = self.booster.predict(
            self._lightgbm_frame(features), num_iteration=self.best_iteration, pred_contrib=True
        )
        return pd.DataFrame(np.asarray(matrix), columns=[*self.features, "bias"], index=features.index)

    def explain(self, features: pd.DataFrame, top: int = 5) -> list[Explanation]:
        """Per row: the ``top`` features with the largest contributions (signed, in raw log-odds)."""
        table = self.contributions(features)
        values = table[list(self.features)].to_numpy()
        bias = table["bias"].to_numpy()
        raw = values.sum(axis=1) + bias
        probability = _platt(raw, self.calibration_slope, self.calibration_intercept)
        shown = features[list(self.features)].to_numpy(dtype=object)
        explanations = []
        for row in range(len(table)):
            order = np.argsort(-np.abs(values[row]), kind="stable")[:top]
            explanations.append(
                Explanation(
                    probability=float(probability[row]),
                    raw_log_odds=float(raw[row]),
                    base_log_odds=float(bias[row]),
                    top=[
                        Contribution(
                            feature=self.features[i],
                            value=_display(shown[row, i]),
                            log_odds=float(values[row, i]),
                        )
                        for i in order
                    ],
                )
            )
        return explanations

    def _lightgbm_frame(self, features: pd.DataFrame) -> pd.DataFrame:
        return _lightgbm_frame(features, self.features, self.categories)


def fit_classifier(
    features: pd.DataFrame,
    target: NDArray[np.bool_],
    *,
    train: NDArray[np.bool_],
    validation: NDArray[np.bool_],
    categorical: list[str],
    seed: int = 0,
    threads: int = 1,
    minimum: MinimumData | None = None,
) -> FittedModel:
    """Train LightGBM and the baseline on ``train``; stop, calibrate and measure on ``validation``.

    Every column of ``features`` is used: those named in ``categorical`` as categories, the
    others as numbers (missing values as NaN). Deterministic for a given seed and thread count.
    """
    target = np.asarray(target, dtype=bool)
    train, validation = np.asarray(train, dtype=bool), np.asarray(validation, dtype=bool)
    if not (len(features) == target.size == train.size == validation.size):
        raise ValueError("features, target and masks must have the same number of rows")
    if (train & validation).any():
        raise ValueError("a row cannot be in both the train and the validation part")
    (minimum or MinimumData()).check(target[train | validation], validation[train | validation])
    names = tuple(str(column) for column in features.columns)
    categories = {column: _categories_of(features.loc[train, column]) for column in categorical}
    frame = _lightgbm_frame(features, names, categories)
    booster = _train_lightgbm(frame, target, train, validation, seed, threads)
    best = booster.best_iteration or booster.current_iteration()
    raw_valid = np.asarray(booster.predict(frame[validation], num_iteration=best, raw_score=True), dtype=np.float64)
    y_valid = target[validation]
    slope, intercept = _fit_platt(raw_valid, y_valid)
    baseline = _baseline_pipeline(names, tuple(categorical), seed)
    baseline.fit(_baseline_frame(frame[train], tuple(categorical)), target[train])
    baseline_valid = baseline.predict_proba(_baseline_frame(frame[validation], tuple(categorical)))[:, 1]
    return FittedModel(
        features=names,
        categorical=tuple(categorical),
        categories=categories,
        booster=booster,
        best_iteration=best,
        calibration_slope=slope,
        calibration_intercept=intercept,
        baseline=baseline,
        metrics=evaluate(y_valid, _cross_fitted_platt(raw_valid, y_valid, seed)),
        baseline_metrics=evaluate(y_valid, baseline_valid),
        n_train=int(train.sum()),
        n_validation=int(validation.sum()),
        seed=seed,
    )


def _train_lightgbm(
    frame: pd.DataFrame,
    target: NDArray[np.bool_],
    train: NDArray[np.bool_],
    validation: NDArray[np.bool_],
    seed: int,
    threads: int,
) -> lgb.Booster:
    params = {**LIGHTGBM_PARAMS, "seed": seed, "num_threads": threads}
    train_set = lgb.Dataset(frame[train], label=target[train].astype(float), free_raw_data=False)
    valid_set = lgb.Dataset(frame[validation], label=target[validation].astype(float), reference=train_set)
    return lgb.train(
        params,
        train_set,
        num_boost_round=MAX_ROUNDS,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, first_metric_only=True, verbose=False)],
    )


def _categories_of(values: pd.Series) -> list[str]:
    return sorted({str(value) for value in values.dropna()})


def _lightgbm_frame(features: pd.DataFrame, names: tuple[str, ...], categories: dict[str, list[str]]) -> pd.DataFrame:
    """Numbers as float64 and categories with the training levels (an unseen level becomes missing)."""
    absent = [name for name in names if name not in features.columns]
    if absent:
        raise InputError(f"the model needs feature columns that are missing: {', '.join(absent)}")
    columns: dict[str, Any] = {}
    for name in names:
        series = features[name]
        if name in categories:
            text = series.map(lambda value: None if pd.isna(value) else str(value))
            columns[name] = pd.Categorical(text, categories=categories[name])
        else:
            numbers = pd.to_numeric(series, errors="coerce")
            if numbers.notna().sum() < series.notna().sum():
                raise ValueError(f"feature {name!r} is neither numeric nor declared categorical")
            columns[name] = numbers.astype(np.float64)
    return pd.DataFrame(columns, index=features.index)


def _baseline_pipeline(names: tuple[str, ...], categorical: tuple[str, ...], seed: int) -> Pipeline:
    """Scaled numbers (median-imputed, with missing indicators) and one-hot categories, then a logistic regression."""
    numeric = [name for name in names if name not in categorical]
    numbers = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True), StandardScaler()
    )
    columns = ColumnTransformer(
        [("numbers", numbers, numeric), ("categories", OneHotEncoder(handle_unknown="ignore"), list(categorical))]
    )
    return make_pipeline(columns, LogisticRegression(C=1.0, max_iter=2000, random_state=seed))


def _baseline_frame(lightgbm_frame: pd.DataFrame, categorical: tuple[str, ...]) -> pd.DataFrame:
    """The LightGBM frame with categories as plain strings and missing as a level of its own."""
    frame = lightgbm_frame.copy()
    for name in categorical:
        frame[name] = frame[name].astype(object).where(frame[name].notna(), MISSING_CATEGORY)
    return frame


def _platt(raw: NDArray[np.float64], slope: float, intercept: float) -> NDArray[np.float64]:
    return np.asarray(expit(slope * raw + intercept), dtype=np.float64)


def _fit_platt(raw: NDArray[np.float64], target: NDArray[np.bool_]) -> tuple[float, float]:
    """Platt's sigmoid fit by Newton's method, with his smoothed targets to keep it finite."""
    positives = int(target.sum())
    negatives = target.size - positives
    smoothed = np.where(target, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    design = np.column_stack([raw, np.ones_like(raw)])
    weights = np.array([1.0, 0.0])
    for _ in range(100):
        predicted = expit(design @ weights)
        gradient = design.T @ (predicted - smoothed)
        hessian = design.T @ (design * (predicted * (1 - predicted))[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(weights[0]), float(weights[1])


def _cross_fitted_platt(raw: NDArray[np.float64], target: NDArray[np.bool_], seed: int) -> NDArray[np.float64]:
    """Calibrated probabilities where each half of the rows is calibrated by the other half."""
    rng = np.random.default_rng(seed)
    half = np.zeros(target.size, dtype=bool)
    for outcome in (True, False):
        rows = np.flatnonzero(target == outcome)
        half[rng.permutation(rows)[: rows.size // 2]] = True
    calibrated = np.empty(target.size)
    for part in (half, ~half):
        slope, intercept = _fit_platt(raw[~part], target[~part])
        calibrated[part] = _platt(raw[part], slope, intercept)
    return calibrated


def _display(value: Any) -> float | str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    return str(value)
