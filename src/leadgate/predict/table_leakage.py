"""Leakage suspects: columns that look filled in after the outcome was known.

A CRM export mixes what was known about a lead before its outcome with what sales wrote
after it (a close reason, a deal stage, a contract date). A model trained on the latter
scores perfectly on the export and is useless on new leads. Two signs give such a column
away, each measured on that column alone:

- its **values** predict the target almost perfectly: single-feature ROC AUC of at least
  ``VALUE_AUC`` (0.95). Each value (a category level, or a decile of a number, missing as a
  value of its own) is replaced by the conversion rate of that value in the *other* folds, so
  an id-like column cannot look perfect by memorising rows;
- whether it is **empty** predicts the target: ROC AUC of at least ``MISSING_AUC`` (0.90) for
  the empty/filled flag alone (fields that sales fills in only for won or lost deals).

Real leading indicators (a demo request, a budget) seldom pass 0.85 on their own; a column
over these lines is almost always written after the fact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict
from sklearn.model_selection import StratifiedKFold

from leadgate.predict.metrics import roc_auc

VALUE_AUC = 0.95
MISSING_AUC = 0.90
FOLDS = 5
SMOOTHING_ROWS = 5
NUMBER_BINS = 10


class LeakageSuspect(BaseModel):
    """A column that looks filled in after the outcome, with the evidence."""

    model_config = ConfigDict(frozen=True)

    column: str
    single_feature_auc: float | None
    missingness_auc: float | None
    reason: str
    excluded: bool


def find_suspects(
    frame: pd.DataFrame, categorical: list[str], source: dict[str, str], target: NDArray[np.bool_], seed: int
) -> list[tuple[str, float | None, float | None, str]]:
    """(source column, value AUC, missingness AUC, reason) of each suspect column, strongest first."""
    found: dict[str, tuple[str, float | None, float | None, str]] = {}
    for feature in frame.columns:
        column = source[feature]
        value_auc = single_feature_auc(frame[feature], feature in categorical, target, seed)
        missing_auc = missingness_auc(frame[feature], target)
        reasons = []
        if value_auc is not None and value_auc >= VALUE_AUC:
            reasons.append(f"alone it predicts the target (ROC AUC {value_auc:.3f})")
        if missing_auc is not None and missing_auc >= MISSING_AUC:
            reasons.append(f"whether it is empty predicts the target (ROC AUC {missing_auc:.3f})")
        if reasons and column not in found:
            found[column] = (column, value_auc, missing_auc, "; ".join(reasons))
    return sorted(found.values(), key=lambda item: -max(item[1] or 0.0, item[2] or 0.0))


def single_feature_auc(values: pd.Series, is_category: bool, target: NDArray[np.bool_], seed: int) -> float | None:
    """ROC AUC of the column alone, each value replaced by its conversion rate in the other folds."""
    keys = _value_keys(values, is_category)
    prior = float(target.mean())
    encoded = np.full(target.size, prior)
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    for train, test in folds.split(np.zeros(target.size), target):
        seen = pd.DataFrame({"key": keys[train], "hit": target[train]}).groupby("key")["hit"].agg(["sum", "count"])
        rate = (seen["sum"] + SMOOTHING_ROWS * prior) / (seen["count"] + SMOOTHING_ROWS)
        encoded[test] = pd.Series(keys[test]).map(rate).fillna(prior).to_numpy()
    return roc_auc(target, encoded)


def missingness_auc(values: pd.Series, target: NDArray[np.bool_]) -> float | None:
    """ROC AUC of the empty/filled flag alone, either way round; ``None`` when never or always empty."""
    empty = values.isna().to_numpy()
    if empty.all() or not empty.any():
        return None
    auc = roc_auc(target, empty.astype(float))
    return None if auc is None else max(auc, 1.0 - auc)


def _value_keys(values: pd.Series, is_category: bool) -> NDArray[np.object_]:
    """A hashable key per row: the level, or the decile of a number; missing is a key of its own."""
    if is_category:
        keys = values.astype(object).where(values.notna(), "(missing)")
    else:
        bins = pd.qcut(values, NUMBER_BINS, labels=False, duplicates="drop")
        keys = bins.astype(object).where(bins.notna(), "(missing)")
    return keys.to_numpy(dtype=object)
