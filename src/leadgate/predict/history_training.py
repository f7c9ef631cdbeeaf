"""The predictive score learnt from the workspace's own history: train, store, predict.

Training reads the settled qualification episodes (:mod:`leadgate.predict.labels`: decided, and
qualified at least ``predict.no_progress_days`` ago; every decided one when too few are settled)
with their features as of the moment they qualified (:mod:`leadgate.predict.features`), splits them by time
(the most recent quarter validates what the older episodes taught, as the model will be used:
on leads that come after its training), fits LightGBM and its logistic baseline
(:func:`leadgate.predict.learners.fit_classifier`), and stores the model with its version,
metrics, feature list, playbook version and window. Prediction scores the current leads with
the latest model into ``lead_predictions``: a probability beside the rule scores, never in
their place.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from leadgate.errors import UserError
from leadgate.playbook.compiled import Playbook
from leadgate.predict.features import KEY, fact_features, rule_signals, rule_signals_of_scores, typed_frame
from leadgate.predict.labels import episode_labels
from leadgate.predict.learners import FittedModel, MinimumData, fit_classifier
from leadgate.predict.model_store import ModelRecord, ModelStore
from leadgate.service.scoring import SCORES_TABLE
from leadgate.store.base import Store, utc_now
from leadgate.store.lifecycle_store import LifecycleStore

VALIDATION_SHARE = 0.25
SCORE_COLUMNS = ("fit", "engagement", "score")
TOP_FACTORS = 3


@dataclass(frozen=True)
class Episodes:
    """Closed and open episodes with their labels, and their features (same row order)."""

    labels: pd.DataFrame
    features: pd.DataFrame
    categorical: list[str]


def history_as_of(store: Store) -> dt.datetime:
    """The last moment the history knows: its latest lifecycle fact (now when there is none)."""
    return LifecycleStore(store).latest_fact_at() or utc_now()


def event_names(store: Store) -> list[str]:
    """Every event name in the store, sorted: one count feature each."""
    events = store.backend.table("events")
    return sorted(str(name) for name in events.select("event").distinct().to_pandas()["event"].dropna())


def episode_data(store: Store, playbook: Playbook, as_of: dt.datetime, names: list[str] | None = None) -> Episodes:
    """Every episode started by ``as_of``, labelled, with its features as of its qualification."""
    transitions = store.backend.table("transitions")
    labels = episode_labels(transitions, playbook.model.predict, as_of)
    moments = labels.select(*KEY, moment=labels.qualified_at)
    facts = fact_features(store.facts(), moments, playbook.model, names if names is not None else event_names(store))
    recorded = transitions.select("fact_id", *SCORE_COLUMNS, "contributions")
    labelled = labels.left_join(recorded, labels.fact_id == recorded.fact_id).drop("fact_id_right")
    frame = labelled.to_pandas().sort_values(["qualified_at", "lead_key", "episode"]).reset_index(drop=True)
    features = frame[list(KEY)].merge(facts.to_pandas(), on=list(KEY), how="left")
    features = pd.concat(
        [
            features.drop(columns=list(KEY)),
            frame[list(SCORE_COLUMNS)].astype("float64"),
            rule_signals(frame["contributions"]),
        ],
        axis=1,
    )
    typed, categorical = typed_frame(features, playbook.model)
    return Episodes(frame.drop(columns=["contributions", *SCORE_COLUMNS]), typed, categorical)


def time_split(qualified_at: pd.Series, share: float = VALIDATION_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """Train on the older episodes, validate on the most recent ``share`` (rows sorted by time)."""
    order = np.argsort(qualified_at.to_numpy(), kind="stable")
    validation = np.zeros(len(order), dtype=bool)
    validation[order[len(order) - round(len(order) * share) :]] = True
    return ~validation, validation


def learning_episodes(episodes: Episodes, settled_only: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The decided episodes a model learns from and is judged on (labels, features), only the
    settled ones when ``settled_only``.

    A young episode that is already decided is a biased sample: a rejection comes within hours
    and a conversion when the project is ready, but "no progress" only after the whole wait.
    On a simulated 40,000-lead history, 90 days before its end, the decided episodes of the last
    90 days converted at 0.75; the same episodes, once settled, at 0.69. Being the most recent,
    they also made most of the validation quarter that calibrates the model.
    """
    keep = episodes.labels["converted"].notna().to_numpy()
    if settled_only:
        keep &= episodes.labels["settled"].to_numpy(dtype=bool)
    return episodes.labels[keep].reset_index(drop=True), episodes.features[keep].reset_index(drop=True)


def enough_settled(episodes: Episodes, minimum: MinimumData | None = None) -> bool:
    """Whether the settled episodes alone pass the minimum-data rule (else training falls back
    to every decided episode, as a history younger than ``no_progress_days`` or so must)."""
    labels, _ = learning_episodes(episodes, settled_only=True)
    _, validation = time_split(labels["qualified_at"])
    try:
        (minimum or MinimumData()).check(labels["converted"].astype(bool).to_numpy(), validation)
    except UserError:
        return False
    return True


@dataclass(frozen=True)
class Trained:
    record: ModelRecord
    model: FittedModel
    settled_only: bool  # False: too few settled episodes, every decided one was used


def train_from_history(
    store: Store,
    playbook: Playbook,
    as_of: dt.datetime | None = None,
    seed: int = 0,
    minimum: MinimumData | None = None,
    settled_only: bool | None = None,
) -> Trained:
    """Train on the settled episodes known at ``as_of`` (default: the latest lifecycle fact), or
    on every decided one when too few are settled (:func:`enough_settled`; ``settled_only``
    forces either), and store the model as a new version. :class:`UserError` when the history
    is too thin."""
    moment = as_of or history_as_of(store)
    episodes = episode_data(store, playbook, moment)
    if not episodes.labels["converted"].notna().any():
        raise UserError(
            "too little history to train a model: no qualification episode has an outcome yet "
            "(run 'leadgate cycle' and record decisions, or import outcomes)"
        )
    if settled_only is None:
        settled_only = enough_settled(episodes, minimum)
    labels, features = learning_episodes(episodes, settled_only)
    target = labels["converted"].astype(bool).to_numpy()
    train, validation = time_split(labels["qualified_at"])
    model = fit_classifier(
        features,
        target,
        train=train,
        validation=validation,
        categorical=episodes.categorical,
        seed=seed,
        minimum=minimum,
    )
    models = ModelStore(store)
    record = ModelRecord(
        version=models.next_version(),
        trained_at=utc_now(),
        as_of=moment,
        playbook_version=playbook.version,
        converts_at=playbook.model.predict.converts_at,
        window_start=labels["qualified_at"].min().to_pydatetime(),
        window_end=labels["qualified_at"].max().to_pydatetime(),
        validation_from=labels["qualified_at"][validation].min().to_pydatetime(),
        n_train=int(train.sum()),
        n_validation=int(validation.sum()),
        features=list(model.features),
        metrics=model.metrics.model_dump(mode="json"),
        baseline_metrics=model.baseline_metrics.model_dump(mode="json"),
    )
    models.add(record, model)
    return Trained(record, model, settled_only)


@dataclass(frozen=True)
class PredictionRun:
    model_version: int
    as_of: dt.datetime
    leads: int


def current_features(store: Store, playbook: Playbook, model: FittedModel, as_of: dt.datetime) -> pd.DataFrame:
    """The current leads' features as of ``as_of``, in the model's columns, with ``lead_key``."""
    if not store.has_table(SCORES_TABLE):
        raise UserError("no scores yet: run 'leadgate score' (or 'leadgate cycle') before 'leadgate predict'")
    scores = store.backend.table(SCORES_TABLE)
    moments = scores.select("lead_key", episode=ibis.literal(0, "int64"), moment=ibis.literal(as_of, "timestamp"))
    names = [name[2:] for name in model.features if name.startswith("n_")]
    facts = fact_features(store.facts(), moments, playbook.model, names).to_pandas()
    rule_columns = [name for name in scores.columns if name.startswith("c_")]
    scored = scores.select("lead_key", *SCORE_COLUMNS, *rule_columns).to_pandas()
    frame = scored[["lead_key"]].merge(facts, on="lead_key", how="left")
    frame = pd.concat(
        [
            frame.drop(columns=["episode"]),
            scored[list(SCORE_COLUMNS)].astype("float64"),
            rule_signals_of_scores(scored),
        ],
        axis=1,
    )
    typed, _ = typed_frame(frame, playbook.model)
    for name in model.features:  # a rule or event the model knew that the playbook or store no longer has
        if name not in typed:
            typed[name] = None if name in model.categorical else 0.0
    return typed


def predict_current(store: Store, playbook: Playbook, as_of: dt.datetime | None = None) -> PredictionRun:
    """Score every scored lead with the latest model into ``lead_predictions`` (one row each).
    ``as_of`` defaults to the latest scoring run's, so facts and rule signals agree."""
    models = ModelStore(store)
    record = models.latest()
    if record is None:
        raise UserError("no model yet: run 'leadgate train' first (until then, leads have no p_convert)")
    model = models.load(record.version)
    last_run = store.last_scoring_run()
    moment = as_of or (last_run["as_of"] if last_run else None) or utc_now()
    assert isinstance(moment, dt.datetime)
    features = current_features(store, playbook, model, moment)
    explanations = model.explain(features, top=TOP_FACTORS)
    rows = pa.table(
        {
            "lead_key": pa.array(features["lead_key"].astype("int64")),
            "model_version": pa.array([record.version] * len(features), pa.int64()),
            "p_convert": pa.array([item.probability for item in explanations], pa.float64()),
            "as_of": pa.array([moment] * len(features), pa.timestamp("us")),
            "top_factors": pa.array(
                [json.dumps([c.model_dump(mode="json") for c in item.top]) for item in explanations]
            ),
        }
    )
    models.replace_predictions(rows)
    return PredictionRun(record.version, moment, len(features))
