"""How good a predicted probability is: ranking, precision, lift and calibration.

Pure functions over numpy arrays (a boolean target and a probability per row), written here
rather than borrowed so that the edge cases a small lead history hits are explicit: a metric
that needs both classes returns ``None`` when one is absent instead of raising or answering
NaN (``None`` is ``null`` in JSON; NaN is not JSON at all), and ties between equal
probabilities are shared fairly instead of depending on row order.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict

BinStrategy = Literal["quantile", "uniform"]


class CalibrationBin(BaseModel):
    """One bin of a calibration curve: what was predicted on average, and what happened."""

    model_config = ConfigDict(frozen=True)

    mean_predicted: float
    observed_rate: float
    count: int


class Metrics(BaseModel):
    """Every figure of one model on one set of rows (``leadgate model report``, ``train --json``)."""

    model_config = ConfigDict(frozen=True)

    n_rows: int
    positive_rate: float
    roc_auc: float | None
    pr_auc: float | None
    top_decile_lift: float | None
    brier: float
    expected_calibration_error: float
    calibration: list[CalibrationBin]


def _arrays(target: ArrayLike, probability: ArrayLike) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    y = np.asarray(target, dtype=bool).ravel()
    p = np.asarray(probability, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"target has {y.size} rows but probability has {p.size}")
    if y.size == 0:
        raise ValueError("no rows to measure")
    if np.isnan(p).any():
        raise ValueError("probability has missing values")
    return y, p


def _average_ranks(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Ranks 1..n, ties sharing the mean of the ranks they span."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], values.size]
    group_rank = (starts + 1 + ends) / 2.0
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat(group_rank, ends - starts)
    return ranks


def roc_auc(target: ArrayLike, probability: ArrayLike) -> float | None:
    """The chance that a random positive row is ranked above a random negative one (ties count half).

    Computed from ranks (the Mann-Whitney statistic); ``None`` when one class is absent.
    """
    y, p = _arrays(target, probability)
    positives = int(y.sum())
    negatives = y.size - positives
    if positives == 0 or negatives == 0:
        return None
    rank_sum = float(_average_ranks(p)[y].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def pr_auc(target: ArrayLike, probability: ArrayLike) -> float | None:
    """Average precision: the precision at each threshold, weighted by the recall it adds.

    Thresholds are the distinct probabilities from high to low (tied rows enter together), as
    scikit-learn's ``average_precision_score`` does. ``None`` when there is no positive row.
    The value of a random ranking is the positive rate, so read it against that.
    """
    y, p = _arrays(target, probability)
    positives = int(y.sum())
    if positives == 0:
        return None
    order = np.argsort(-p, kind="stable")
    sorted_p, sorted_y = p[order], y[order]
    last_of_group = np.r_[sorted_p[1:] != sorted_p[:-1], True]
    true_positives = np.cumsum(sorted_y)[last_of_group]
    flagged = np.flatnonzero(last_of_group) + 1
    precision = true_positives / flagged
    recall_gain = np.diff(np.r_[0, true_positives]) / positives
    return float((precision * recall_gain).sum())


def top_decile_lift(target: ArrayLike, probability: ArrayLike) -> float | None:
    """The positive rate among the 10% highest-ranked rows, divided by the overall rate.

    The top decile holds ``ceil(n / 10)`` rows; rows tied at the cut share the remaining places
    pro rata (their positives count at the group's rate), so row order never matters.
    ``None`` when there is no positive row.
    """
    y, p = _arrays(target, probability)
    positives = int(y.sum())
    if positives == 0:
        return None
    size = int(np.ceil(y.size / 10))
    cut = np.sort(p)[::-1][size - 1]
    above = p > cut
    tied = p == cut
    places_left = size - int(above.sum())
    positives_in_top = y[above].sum() + places_left * y[tied].mean()
    return float((positives_in_top / size) / (positives / y.size))


def brier(target: ArrayLike, probability: ArrayLike) -> float:
    """Mean squared gap between probability and outcome (0 is perfect; lower is better)."""
    y, p = _arrays(target, probability)
    return float(np.mean((p - y) ** 2))


def _bins(probability: NDArray[np.float64], bins: int, strategy: BinStrategy) -> list[NDArray[np.intp]]:
    """Row indices of each non-empty bin, from low to high probability."""
    if bins < 1:
        raise ValueError("bins must be at least 1")
    if strategy == "quantile":
        order = np.argsort(probability, kind="stable")
        return [chunk for chunk in np.array_split(order, bins) if chunk.size]
    index = np.minimum((probability * bins).astype(int), bins - 1)
    return [np.flatnonzero(index == b) for b in range(bins) if (index == b).any()]


def calibration_curve(
    target: ArrayLike, probability: ArrayLike, bins: int = 10, strategy: BinStrategy = "quantile"
) -> list[CalibrationBin]:
    """Mean predicted probability beside the observed positive rate, bin by bin.

    ``quantile`` (the default) makes equal-mass bins: each holds about n / bins rows sorted by
    probability. Lead conversion rates are low, so equal-width bins (``uniform``: [0, 0.1),
    [0.1, 0.2), ...) would put most rows in the first bin and hide miscalibration there.
    Empty bins are left out.
    """
    y, p = _arrays(target, probability)
    return [
        CalibrationBin(mean_predicted=float(p[rows].mean()), observed_rate=float(y[rows].mean()), count=int(rows.size))
        for rows in _bins(p, bins, strategy)
    ]


def expected_calibration_error(
    target: ArrayLike, probability: ArrayLike, bins: int = 10, strategy: BinStrategy = "quantile"
) -> float:
    """The gap between predicted and observed rates, averaged over bins weighted by their rows.

    Equal-mass bins by default (see ``calibration_curve``). Even a perfectly calibrated model
    shows some error from sampling noise: about ``0.8 * sqrt(rate * (1 - rate) * bins / n)``.
    """
    curve = calibration_curve(target, probability, bins, strategy)
    total = sum(b.count for b in curve)
    return float(sum(b.count * abs(b.mean_predicted - b.observed_rate) for b in curve) / total)


def calibration_noise_floor(probability: ArrayLike, quantile: float = 0.5, draws: int = 200, seed: int = 0) -> float:
    """The ECE a perfectly calibrated model shows by chance on as many rows: outcomes drawn from
    its own probabilities, ``draws`` times; the ``quantile`` of those ECEs (the median by default).

    An ECE near it is sampling noise, not miscalibration: a bar such as 0.03 can only be checked
    on enough rows for this floor to be well below it."""
    p = np.asarray(probability, dtype=float)
    rng = np.random.default_rng(seed)
    chance = [expected_calibration_error(rng.random(p.size) < p, p) for _ in range(draws)]
    return float(np.quantile(chance, quantile))


def roc_auc_margin(auc: float | None, positives: int, negatives: int, z: float = 1.96) -> float | None:
    """How far a ROC AUC measured on ``positives`` and ``negatives`` rows may be from the true one
    by chance: ``z`` standard errors (1.96: 95%), the standard error by Hanley and McNeil (1982),
    ``sqrt((A(1-A) + (n1-1)(Q1-A²) + (n2-1)(Q2-A²)) / (n1 n2))`` with ``Q1 = A/(2-A)`` and
    ``Q2 = 2A²/(1+A)``. None without an AUC or without both classes."""
    if auc is None or positives < 1 or negatives < 1:
        return None
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    return float(z * np.sqrt(max(variance, 0.0) / (positives * negatives)))


def evaluate(target: ArrayLike, probability: ArrayLike, bins: int = 10) -> Metrics:
    """All the figures at once, with equal-mass calibration bins."""
    y, p = _arrays(target, probability)
    return Metrics(
        n_rows=int(y.size),
        positive_rate=float(y.mean()),
        roc_auc=roc_auc(y, p),
        pr_auc=pr_auc(y, p),
        top_decile_lift=top_decile_lift(y, p),
        brier=brier(y, p),
        expected_calibration_error=expected_calibration_error(y, p, bins),
        calibration=calibration_curve(y, p, bins),
    )
