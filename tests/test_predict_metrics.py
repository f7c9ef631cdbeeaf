"""The metrics against values worked out by hand on tiny arrays (and against scikit-learn)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from leadgate.cli.model_commands import auc_margin_of, validation_verdict
from leadgate.predict.metrics import (
    brier,
    calibration_curve,
    evaluate,
    expected_calibration_error,
    pr_auc,
    roc_auc,
    roc_auc_margin,
    top_decile_lift,
)

Y = np.array([True, False, True, False])
P = np.array([0.9, 0.8, 0.4, 0.1])


def test_roc_auc_counts_the_pairs_ranked_right() -> None:
    # pairs (positive, negative): 0.9>0.8, 0.9>0.1, 0.4<0.8, 0.4>0.1 -> 3 of 4
    assert roc_auc(Y, P) == pytest.approx(0.75)


def test_roc_auc_counts_a_tie_as_half() -> None:
    assert roc_auc([True, False], [0.5, 0.5]) == pytest.approx(0.5)
    # 0.7 beats 0.5 (1), 0.5 ties 0.5 (1/2) -> 1.5 of 2 pairs
    assert roc_auc([True, True, False], [0.7, 0.5, 0.5]) == pytest.approx(0.75)


def test_roc_auc_is_none_with_one_class() -> None:
    assert roc_auc([True, True], [0.1, 0.2]) is None
    assert roc_auc([False, False], [0.1, 0.2]) is None


def test_pr_auc_weights_precision_by_the_recall_it_adds() -> None:
    # 0.9: precision 1, recall +1/2; 0.8: no recall added; 0.4: precision 2/3, recall +1/2
    assert pr_auc(Y, P) == pytest.approx(0.5 + 1 / 3)


def test_pr_auc_lets_tied_rows_enter_together() -> None:
    # 0.5 (two rows, one positive): precision 1/2, recall +1/2; 0.2: precision 2/3, recall +1/2
    assert pr_auc([True, False, True], [0.5, 0.5, 0.2]) == pytest.approx(0.25 + 1 / 3)


def test_pr_auc_with_only_positives_is_one_and_without_any_is_none() -> None:
    assert pr_auc([True, True], [0.3, 0.6]) == pytest.approx(1.0)
    assert pr_auc([False, False], [0.3, 0.6]) is None


def test_top_decile_lift() -> None:
    # 20 rows, 4 positives (rate 0.2); the top 2 rows are both positive: rate 1 -> lift 5
    y = np.zeros(20, dtype=bool)
    y[[0, 1, 5, 6]] = True
    p = np.linspace(1.0, 0.05, 20)
    assert top_decile_lift(y, p) == pytest.approx(5.0)


def test_top_decile_lift_shares_the_last_place_among_tied_rows() -> None:
    # top 2 places: 0.9 (positive), then 1 place among three rows tied at 0.8 with 1 positive:
    # 1 + 1/3 positives in 2 places -> rate 2/3, against 4/20 = 0.2 -> lift 10/3
    y = np.zeros(20, dtype=bool)
    y[[0, 2, 10, 11]] = True
    p = np.full(20, 0.1)
    p[0], p[1:4] = 0.9, 0.8
    assert top_decile_lift(y, p) == pytest.approx(10 / 3)


def test_brier() -> None:
    # ((1 - 0.8)^2 + (0 - 0.4)^2) / 2 = (0.04 + 0.16) / 2
    assert brier([True, False], [0.8, 0.4]) == pytest.approx(0.1)


def test_calibration_with_equal_mass_bins() -> None:
    y = [False, False, True, False, True, True]
    p = [0.1, 0.2, 0.3, 0.6, 0.7, 0.8]
    curve = calibration_curve(y, p, bins=2)
    assert [(b.mean_predicted, b.observed_rate, b.count) for b in curve] == [
        (pytest.approx(0.2), pytest.approx(1 / 3), 3),
        (pytest.approx(0.7), pytest.approx(2 / 3), 3),
    ]
    # |0.2 - 1/3| and |0.7 - 2/3|, three rows each
    assert expected_calibration_error(y, p, bins=2) == pytest.approx((0.4 / 3 + 0.1 / 3) / 2)


def test_calibration_with_equal_width_bins() -> None:
    y = [False, False, False, True, True]
    p = [0.1, 0.2, 0.3, 0.4, 0.9]
    curve = calibration_curve(y, p, bins=2, strategy="uniform")
    assert [b.count for b in curve] == [4, 1]
    # bin [0, 0.5): mean 0.25, observed 1/4; bin [0.5, 1]: 0.9 against 1 -> 0.1 for 1 row of 5
    assert expected_calibration_error(y, p, bins=2, strategy="uniform") == pytest.approx(0.02)
    assert [b.count for b in calibration_curve([True], [1.0], strategy="uniform")] == [1]


def test_calibration_leaves_empty_bins_out() -> None:
    assert [b.count for b in calibration_curve([True, False, True], [0.2, 0.3, 0.4], bins=10)] == [1, 1, 1]


def test_evaluate_gathers_everything() -> None:
    metrics = evaluate(Y, P, bins=2)
    assert metrics.n_rows == 4
    assert metrics.positive_rate == pytest.approx(0.5)
    assert metrics.roc_auc == pytest.approx(0.75)
    assert metrics.brier == pytest.approx((0.01 + 0.64 + 0.36 + 0.01) / 4)
    assert len(metrics.calibration) == 2
    assert evaluate([False, False], [0.1, 0.2]).model_dump()["roc_auc"] is None


def test_mismatched_or_empty_input_is_refused() -> None:
    with pytest.raises(ValueError, match="rows"):
        roc_auc([True], [0.1, 0.2])
    with pytest.raises(ValueError, match="no rows"):
        brier([], [])


def test_ranking_metrics_agree_with_scikit_learn_on_random_ties() -> None:
    rng = np.random.default_rng(7)
    y = rng.random(500) < 0.2
    p = np.round(rng.random(500) * 0.5 + y * 0.2, 2)  # rounded: many ties
    assert roc_auc(y, p) == pytest.approx(roc_auc_score(y, p))
    assert pr_auc(y, p) == pytest.approx(average_precision_score(y, p))


def test_the_roc_auc_margin_is_hanley_and_mcneil_s() -> None:
    # A = 0.5, 10 and 10 rows, by hand: Q1 = Q2 = 1/3, variance (0.25 + 9/12 + 9/12) / 100 = 0.0175
    assert roc_auc_margin(0.5, 10, 10) == pytest.approx(1.96 * 0.0175**0.5)
    assert roc_auc_margin(0.5, 10, 10, z=1.0) == pytest.approx(0.0175**0.5)
    assert roc_auc_margin(None, 10, 10) is None
    assert roc_auc_margin(0.7, 0, 10) is None and roc_auc_margin(0.7, 10, 0) is None


def test_the_roc_auc_margin_matches_the_spread_of_auc_across_samples() -> None:
    """Scores of 40 converted and 40 other rows drawn again and again (normal, one standard
    deviation apart: a true AUC of about 0.76): the AUCs' spread is the margin's standard error."""
    rng = np.random.default_rng(7)
    aucs = []
    for _ in range(400):
        scores = np.concatenate([rng.normal(1.0, 1.0, 40), rng.normal(0.0, 1.0, 40)])
        aucs.append(roc_auc(np.arange(80) < 40, scores))
    spread = float(np.std(aucs))
    standard_error = roc_auc_margin(float(np.mean(aucs)), 40, 40, z=1.0)
    assert standard_error is not None
    assert 0.8 * spread < standard_error < 1.25 * spread


def _validation(model_auc: float, baseline_auc: float) -> SimpleNamespace:
    """A stored model's record, as far as `leadgate model report` reads it: 49 episodes, 24 converted."""
    return SimpleNamespace(
        n_validation=49,
        metrics={"roc_auc": model_auc, "positive_rate": 24 / 49},
        baseline_metrics={"roc_auc": baseline_auc},
    )


def test_the_model_report_says_when_its_validation_cannot_tell_the_model_from_the_baseline() -> None:
    # the README's demo figures: 0.719 against 0.665 on 49 episodes; by hand, Q1 = 0.719 / 1.281,
    # Q2 = 2 * 0.719² / 1.719, variance (0.2020 + 23 * 0.04432 + 24 * 0.08451) / 600, margin ±0.144
    close = _validation(0.719, 0.665)
    assert auc_margin_of(close) == pytest.approx(0.1442, abs=5e-4)
    said = validation_verdict(close, auc_margin_of(close))
    assert said is not None
    assert said.startswith("On 49 validation episodes (24 converted), a ROC AUC is known to about ±0.144")
    assert "cannot tell them apart" in said
    apart = _validation(0.95, 0.60)
    said = validation_verdict(apart, auc_margin_of(apart))
    assert said is not None and "the model's 0.950 is ahead of the baseline's 0.600 by more than that" in said
    assert validation_verdict(_validation(0.7, 0.6), None) is None
