"""The predictive score learnt from the history: features as of the qualifying moment (and a proof
that later facts cannot leak into them), training, stored versions, predictions, and the issue's
bar on a simulated workspace (the model against the hidden propensity itself)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from leadgate.errors import UserError
from leadgate.playbook.loader import parse_playbook
from leadgate.predict.history_training import (
    enough_settled,
    episode_data,
    learning_episodes,
    predict_current,
    time_split,
    train_from_history,
)
from leadgate.predict.learners import MinimumData
from leadgate.predict.metrics import calibration_noise_floor, expected_calibration_error, roc_auc
from leadgate.predict.model_store import ModelStore
from leadgate.service.scoring import run_scoring
from leadgate.simulate import TRUTH_TABLE, play_sales, simulate_into_store
from leadgate.store.base import Store
from leadgate.store.duckdb_store import DuckDBStore
from leadgate.workspace import example_playbook_text
from tests.worlds import Handoff, World

PLAYBOOK = parse_playbook(example_playbook_text(), "playbook.yaml")
QUALIFIED = "2026-03-10T12:00:00"
EVENTS = ["page_view", "demo_requested", "whitepaper_downloaded"]


def ann_before(world: World) -> None:
    """Ann and her account as known when she qualifies on 03-10 at noon."""
    world.account("acme", employees=500, industry="Software", learnt_at="2026-02-01T00:00:00")
    world.lead("ann", account="acme", role="CTO", learnt_at="2026-02-01T00:00:00")
    world.lead("ben", account="acme", role="Analyst", learnt_at="2026-02-01T00:00:00")
    world.did("ann", "page_view", "2026-03-09T12:00:00", path="/pricing")  # 1 day before
    world.did("ann", "page_view", "2026-03-01T12:00:00")  # 9 days before
    world.did("ann", "whitepaper_downloaded", "2026-01-20T12:00:00")  # 49 days before
    world.did("ben", "page_view", "2026-03-05T12:00:00")
    world.save()


def ann_features(store: Store, as_of: str) -> dict[str, object]:
    episodes = episode_data(store, PLAYBOOK, dt.datetime.fromisoformat(as_of), EVENTS)
    first = episodes.labels.index[episodes.labels.episode == 1][0]
    return {name: value for name, value in episodes.features.loc[first].items() if not pd.isna(value)}


@pytest.fixture
def ann(store: Store, world: World) -> Store:
    ann_before(world)
    Handoff(store).moved("ann", "mql", QUALIFIED, {"fit_1": 20.0, "engagement_2": 7.5}).save()
    return store


def test_features_are_the_facts_known_at_the_qualifying_moment(ann: Store) -> None:
    found = ann_features(ann, "2026-04-01T00:00:00")
    assert found["n_page_view"] == 2 and found["n_whitepaper_downloaded"] == 1 and found["n_demo_requested"] == 0
    assert (found["events_7d"], found["events_30d"], found["events_90d"], found["events_total"]) == (1, 2, 3, 3)
    assert found["days_since_last_event"] == pytest.approx(1.0)
    assert found["days_since_first_event"] == pytest.approx(49.0)
    assert found["lead_role"] == "CTO" and found["account_industry"] == "Software"
    assert found["account_employees"] == 500.0
    assert (found["account_contacts"], found["account_active_contacts_30d"], found["account_events_30d"]) == (2, 2, 3)
    assert (found["rule_fit_1"], found["rule_engagement_2"]) == (20.0, 7.5)


def test_facts_after_the_qualifying_moment_change_nothing(ann: Store, world: World) -> None:
    before = ann_features(ann, "2026-04-01T00:00:00")
    world.did("ann", "demo_requested", "2026-03-10T12:00:01")  # a second too late
    world.did("ann", "page_view", "2026-03-20T12:00:00")
    world.lead("ann", role="Intern", learnt_at="2026-03-11T00:00:00")
    world.account("acme", employees=5, industry="Retail", learnt_at="2026-03-11T00:00:00")
    world.lead("cat", account="acme", learnt_at="2026-03-12T00:00:00")
    world.did("cat", "page_view", "2026-03-12T12:00:00")
    world.save()
    Handoff(ann).moved("ann", "sal", "2026-03-11T09:00:00").moved("ann", "sql", "2026-03-12T09:00:00").save()
    after = ann_features(ann, "2026-05-01T00:00:00")
    assert after == before
    world.did("ann", "demo_requested", "2026-03-10T11:59:59")  # the check can fail: a fact in time counts
    world.save()
    assert ann_features(ann, "2026-05-01T00:00:00")["n_demo_requested"] == 1


def test_too_little_history_says_so(ann: Store) -> None:
    with pytest.raises(UserError, match="too little history"):
        train_from_history(ann, PLAYBOOK, dt.datetime(2026, 4, 1))


def test_training_leaves_out_episodes_too_young_to_be_settled(store: Store, world: World) -> None:
    """As of 06-01 with 90 days of patience: ann and bob qualified in January (settled), cid was
    rejected on 05-21 (decided, but too young: its peers still wait for theirs), dan is open."""
    for lead in ("ann", "bob", "cid", "dan"):
        world.lead(lead, role="CTO", learnt_at="2026-01-01T00:00:00")
        world.did(lead, "page_view", "2026-01-02T12:00:00")
    world.save()
    h = Handoff(store).moved("ann", "mql", "2026-01-05T09:00:00").moved("ann", "sal", "2026-01-06T09:00:00")
    h.moved("ann", "sql", "2026-01-20T09:00:00").moved("bob", "mql", "2026-01-10T09:00:00")
    h.moved("bob", "rejected", "2026-01-10T15:00:00").moved("cid", "mql", "2026-05-20T09:00:00")
    h.moved("cid", "rejected", "2026-05-21T09:00:00").moved("dan", "mql", "2026-05-25T09:00:00").save()
    episodes = episode_data(store, PLAYBOOK, dt.datetime(2026, 6, 1), EVENTS)
    ids = {store.lead_key_of(lead): lead for lead in ("ann", "bob", "cid", "dan")}

    def leads(settled_only: bool) -> list[tuple[str, bool]]:
        labels, features = learning_episodes(episodes, settled_only)
        assert len(features) == len(labels)
        return [(ids[key], bool(converted)) for key, converted in zip(labels.lead_key, labels.converted, strict=True)]

    assert leads(settled_only=True) == [("ann", True), ("bob", False)]
    assert leads(settled_only=False) == [("ann", True), ("bob", False), ("cid", False)]  # never the open dan
    assert not enough_settled(episodes)  # two episodes: training would fall back to every decided one
    assert enough_settled(episodes, MinimumData(rows=2, per_outcome=1, validation_per_outcome=0))


def test_time_split_validates_on_the_most_recent_quarter() -> None:
    moments = pd.Series(pd.to_datetime(["2026-01-05", "2026-01-01", "2026-01-03", "2026-01-02"]))
    train, validation = time_split(moments)
    assert validation.tolist() == [True, False, False, False]
    assert train.tolist() == [False, True, True, True]


# -- on a simulated workspace --------------------------------------------------------------------
END = dt.datetime(2026, 11, 1, 7, 0)
DAYS = 150
MINIMUM = MinimumData(rows=100, per_outcome=20)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    store = DuckDBStore(tmp_path_factory.mktemp("history") / "leadgate.duckdb")
    simulate_into_store(store, leads=1200, days=DAYS, seed=4, end=END)
    play_sales(store, PLAYBOOK, seed=4, start=END - dt.timedelta(days=DAYS), end=END)
    yield store
    store.close()


def validation_view(store: Store) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """On the validation episodes of the latest model: outcome, the model's p and the truth's propensity."""
    record = ModelStore(store).latest()
    assert record is not None
    episodes = episode_data(store, PLAYBOOK, record.as_of)
    labels, features = learning_episodes(episodes, enough_settled(episodes, MINIMUM))  # as training chose
    _, validation = time_split(labels["qualified_at"])
    truth = pd.DataFrame(
        store._run(
            f"""SELECT p.lead_key, t.propensity FROM {TRUTH_TABLE} AS t JOIN person_keys AS p
                ON p.id_kind = 'user' AND p.id_value = t.lead_id AND p.first_key = p.lead_key"""
        ),
        columns=["lead_key", "propensity"],
    )
    propensity = labels.merge(truth, on="lead_key", how="left")["propensity"].to_numpy()
    probability = ModelStore(store).load(record.version).predict(features)
    target = labels["converted"].astype(bool).to_numpy()
    return target[validation], probability[validation], propensity[validation]


@pytest.mark.slow
def test_the_model_ranks_episodes_as_well_as_the_hidden_propensity(simulated: DuckDBStore) -> None:
    trained = train_from_history(simulated, PLAYBOOK, minimum=MINIMUM)
    target, probability, propensity = validation_view(simulated)
    assert roc_auc(target, probability) >= roc_auc(target, propensity) - 0.02  # type: ignore[operator]
    assert trained.record.metrics["roc_auc"] > trained.record.metrics["positive_rate"] * 0  # recorded
    assert ModelStore(simulated).latest() == trained.record


@pytest.mark.slow
def test_the_model_is_calibrated_as_well_as_its_validation_size_can_show(simulated: DuckDBStore) -> None:
    """The issue's bar is ECE <= 0.03, but on the few dozen validation episodes of a test-sized
    simulation a perfectly calibrated model shows an ECE of 0.1 to 0.2 by chance alone. So the
    model must be within the 95th percentile of that chance ECE on the same episodes, which only
    catches a grossly miscalibrated model (every probability 0.3 too low, checked below). The
    figure at a size where 0.03 is measurable comes from bench/predict_quality.py (70,000 leads,
    1,634 settled validation episodes: ECE 0.024 against a chance level of 0.024; see docs/predict.md)."""
    if ModelStore(simulated).latest() is None:
        train_from_history(simulated, PLAYBOOK, minimum=MINIMUM)
    target, probability, _ = validation_view(simulated)
    chance = calibration_noise_floor(probability, quantile=0.95)
    assert expected_calibration_error(target, probability) <= chance
    shifted = np.clip(probability - 0.3, 0.01, 0.99)
    assert expected_calibration_error(target, shifted) > calibration_noise_floor(shifted, quantile=0.95)


@pytest.mark.slow
def test_predictions_give_every_scored_lead_one_row_beside_its_scores(simulated: DuckDBStore) -> None:
    if ModelStore(simulated).latest() is None:
        train_from_history(simulated, PLAYBOOK, minimum=MINIMUM)
    run_scoring(simulated, PLAYBOOK, END)
    scores_before = simulated._run("SELECT lead_key, score FROM lead_scores ORDER BY lead_key")
    run = predict_current(simulated, PLAYBOOK)
    rows = ModelStore(simulated).predictions()
    assert run.leads == len(rows) == simulated.count("lead_scores")
    assert len({row[0] for row in rows}) == len(rows)
    assert all(0.0 < row[3] < 1.0 and len(json.loads(row[5])) == 3 for row in rows)
    assert simulated._run("SELECT lead_key, score FROM lead_scores ORDER BY lead_key") == scores_before
