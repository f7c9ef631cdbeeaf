"""The learners on synthetic leads whose true conversion probability is known (a logistic truth)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray

from leadgate.errors import UserError
from leadgate.predict.learners import FittedModel, MinimumData, fit_classifier
from leadgate.predict.metrics import evaluate

PLAN_EFFECT = {"free": -1.0, "starter": 0.0, "team": 0.5, "enterprise": 1.0}


@dataclass(frozen=True)
class Leads:
    features: pd.DataFrame
    converted: NDArray[np.bool_]
    propensity: NDArray[np.float64]


def logistic_leads(count: int, seed: int) -> Leads:
    """Leads converting with probability sigmoid(-1.5 + 0.8 visits - 0.6 days + 0.3 size^2 + plan)."""
    rng = np.random.default_rng(seed)
    visits, days_idle, size = rng.normal(size=(3, count))
    plan = rng.choice(list(PLAN_EFFECT), size=count)
    log_odds = -1.5 + 0.8 * visits - 0.6 * days_idle + 0.3 * size**2 + np.vectorize(PLAN_EFFECT.get)(plan)
    propensity = 1 / (1 + np.exp(-log_odds))
    features = pd.DataFrame({"visits": visits, "days_idle": days_idle, "size": size, "plan": plan})
    features.loc[rng.random(count) < 0.05, "plan"] = None  # some leads never said
    return Leads(features, rng.random(count) < propensity, propensity)


def parts(count: int, train: int, validation: int) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    rows = np.arange(count)
    return rows < train, (rows >= train) & (rows < train + validation)


@pytest.fixture(scope="module")
def fitted() -> tuple[FittedModel, Leads]:
    leads = logistic_leads(11_000, seed=3)
    train, validation = parts(11_000, 8_000, 3_000)
    model = fit_classifier(leads.features, leads.converted, train=train, validation=validation, categorical=["plan"])
    return model, leads


@pytest.fixture(scope="module")
def fresh() -> Leads:
    return logistic_leads(10_000, seed=4)


def test_auc_is_close_to_the_truths_own_auc(fitted: tuple[FittedModel, Leads], fresh: Leads) -> None:
    model, _ = fitted
    truth = evaluate(fresh.converted, fresh.propensity)
    learnt = evaluate(fresh.converted, model.predict(fresh.features))
    assert truth.roc_auc is not None and learnt.roc_auc is not None
    # the truth is the best any model can rank; 8,000 training rows get within 0.02 of it
    assert learnt.roc_auc > truth.roc_auc - 0.02
    # and the baseline, a straight logistic regression, misses the squared term
    baseline = evaluate(fresh.converted, model.predict_baseline(fresh.features))
    assert baseline.roc_auc is not None and baseline.roc_auc < learnt.roc_auc


def test_probabilities_are_calibrated(fitted: tuple[FittedModel, Leads], fresh: Leads) -> None:
    model, _ = fitted
    learnt = evaluate(fresh.converted, model.predict(fresh.features))
    # sampling noise alone gives a perfect model about 0.8 * sqrt(0.3 * 0.7 * 10 / 10,000) = 0.012
    assert learnt.expected_calibration_error <= 0.03
    # the calibrator learns the overall level from 3,000 validation rows: a standard error of
    # sqrt(0.3 * 0.7 / 3,000) = 0.008 on the rate, so three of them
    assert abs(model.predict(fresh.features).mean() - fresh.propensity.mean()) < 0.025


def test_validation_metrics_are_reported_for_both_models(fitted: tuple[FittedModel, Leads]) -> None:
    model, _ = fitted
    assert model.metrics.n_rows == model.baseline_metrics.n_rows == model.n_validation == 3_000
    assert model.metrics.roc_auc is not None and 0.7 < model.metrics.roc_auc < 0.85
    assert model.baseline_metrics.roc_auc is not None and 0.7 < model.baseline_metrics.roc_auc < 0.85
    assert model.metrics.expected_calibration_error < 0.05


def test_contributions_add_up_to_the_raw_log_odds(fitted: tuple[FittedModel, Leads], fresh: Leads) -> None:
    model, _ = fitted
    some = fresh.features.head(50)
    table = model.contributions(some)
    assert list(table.columns) == ["visits", "days_idle", "size", "plan", "bias"]
    np.testing.assert_allclose(table.sum(axis=1).to_numpy(), model.predict_raw(some), atol=1e-9)


def test_explanations_name_the_features_that_moved_a_lead(fitted: tuple[FittedModel, Leads]) -> None:
    model, _ = fitted
    eager = pd.DataFrame({"visits": [3.0], "days_idle": [0.0], "size": [0.0], "plan": ["enterprise"]})
    (explanation,) = model.explain(eager, top=2)
    assert [c.feature for c in explanation.top] == ["visits", "plan"]
    assert explanation.top[0].value == 3.0 and explanation.top[1].value == "enterprise"
    assert all(c.log_odds > 0 for c in explanation.top)
    assert explanation.probability == pytest.approx(model.predict(eager)[0])
    assert explanation.probability > 0.7


def test_unseen_and_missing_categories_are_taken_as_missing(fitted: tuple[FittedModel, Leads]) -> None:
    model, _ = fitted
    rows = pd.DataFrame({"visits": [0.0, 0.0], "days_idle": [0.0, 0.0], "size": [0.0, 0.0], "plan": ["gold", None]})
    unseen, missing = model.predict(rows)
    assert unseen == pytest.approx(missing)


def test_a_pickled_model_predicts_the_same(fitted: tuple[FittedModel, Leads], fresh: Leads) -> None:
    model, _ = fitted
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict(fresh.features), model.predict(fresh.features))
    np.testing.assert_array_equal(copy.predict_baseline(fresh.features), model.predict_baseline(fresh.features))


def test_the_same_seed_gives_the_same_model() -> None:
    leads = logistic_leads(1_500, seed=5)
    train, validation = parts(1_500, 1_000, 500)
    first, second = (
        fit_classifier(leads.features, leads.converted, train=train, validation=validation, categorical=["plan"])
        for _ in range(2)
    )
    np.testing.assert_array_equal(first.predict(leads.features), second.predict(leads.features))


def test_too_little_history_says_what_is_missing() -> None:
    leads = logistic_leads(120, seed=6)
    train, validation = parts(120, 80, 40)
    with pytest.raises(UserError, match=r"too little history.*120 rows \(at least 150\)"):
        fit_classifier(leads.features, leads.converted, train=train, validation=validation, categorical=["plan"])


def test_too_few_conversions_say_how_many_there_are() -> None:
    leads = logistic_leads(1_000, seed=7)
    converted = np.zeros(1_000, dtype=bool)
    converted[:25] = True
    train, validation = parts(1_000, 700, 300)
    with pytest.raises(UserError, match="25 converted and 975 not converted") as caught:
        fit_classifier(leads.features, converted, train=train, validation=validation, categorical=["plan"])
    assert "0 converted and 300 not converted in the validation part" in str(caught.value)


def test_a_lower_minimum_can_be_chosen() -> None:
    leads = logistic_leads(150, seed=6)
    train, validation = parts(150, 100, 50)
    minimum = MinimumData(rows=100, per_outcome=10, validation_per_outcome=5)
    model = fit_classifier(
        leads.features, leads.converted, train=train, validation=validation, categorical=["plan"], minimum=minimum
    )
    assert model.n_train == 100


def test_overlapping_parts_are_a_programming_error() -> None:
    leads = logistic_leads(300, seed=8)
    everything = np.ones(300, dtype=bool)
    with pytest.raises(ValueError, match="both"):
        fit_classifier(leads.features, leads.converted, train=everything, validation=everything, categorical=[])
