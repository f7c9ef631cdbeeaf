"""The predictive model against the simulator's ground truth, at a size where the figures are not noise.

    python bench/predict_quality.py [--leads N] [--days N] [--seed N] [--store FILE] [--all-decided]
                                    [--graded-later DAYS] [--json]

Simulates a history (example playbook, sales side played), trains on it, and measures on the
model's validation episodes (the most recent quarter of the settled ones, as the model is
trained: see ``learning_episodes``): the model's ROC AUC beside the hidden
propensity's on the same episodes, and the expected calibration error, for LightGBM and its
logistic baseline. The issue's bar: AUC within 0.02 of the propensity's, ECE <= 0.03.
``in_sample`` is the stored model as it is used (Platt scaling fitted on these same episodes);
``cross_fitted`` is the figure the model records (each half calibrated by the other half);
``ece_noise_floor`` is what a perfectly calibrated model would score on as many episodes (the
median; ``ece_noise_floor_95``: the 95th percentile).
With ``--store`` an existing file is reused instead of simulated again. ``--graded-later DAYS``
also grades, on final outcomes, models trained DAYS before the end on settled episodes only and
on every decided one (the bias that settled episodes remove).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from leadgate.playbook.loader import parse_playbook
from leadgate.predict.history_training import (
    episode_data,
    history_as_of,
    learning_episodes,
    time_split,
    train_from_history,
)
from leadgate.predict.metrics import calibration_curve, calibration_noise_floor, expected_calibration_error, roc_auc
from leadgate.simulate import TRUTH_TABLE, play_sales, simulate_into_store
from leadgate.store.duckdb_store import DuckDBStore
from leadgate.workspace import example_playbook_text

END = dt.datetime(2026, 11, 1, 7, 0)
TRUTH = f"""SELECT p.lead_key, t.propensity FROM {TRUTH_TABLE} AS t JOIN person_keys AS p
            ON p.id_kind = 'user' AND p.id_value = t.lead_id AND p.first_key = p.lead_key"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=8000, help="leads to simulate (default 8000)")
    parser.add_argument("--days", type=int, default=240, help="days of history (default 240)")
    parser.add_argument("--seed", type=int, default=3, help="simulation and training seed (default 3)")
    parser.add_argument("--store", type=Path, help="DuckDB file to keep the history in (reused when it exists)")
    parser.add_argument(
        "--all-decided",
        action="store_true",
        help="train and measure on every decided episode, not only the settled ones (the former way)",
    )
    parser.add_argument(
        "--graded-later",
        type=int,
        metavar="DAYS",
        help="also train DAYS before the end, both ways, and grade on the outcomes known at the end",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser.parse_args(argv)


def simulate(store: DuckDBStore, args: argparse.Namespace, timings: dict[str, float]) -> None:
    playbook = parse_playbook(example_playbook_text(), "playbook.yaml")
    started = time.perf_counter()
    simulate_into_store(store, leads=args.leads, days=args.days, seed=args.seed, end=END)
    timings["simulate_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    play_sales(store, playbook, seed=args.seed, start=END - dt.timedelta(days=args.days), end=END)
    timings["sales_seconds"] = time.perf_counter() - started


def measure(store: DuckDBStore, args: argparse.Namespace, timings: dict[str, float]) -> dict[str, Any]:
    """Train, then grade the model, its baseline and the truth on the validation episodes."""
    playbook = parse_playbook(example_playbook_text(), "playbook.yaml")
    started = time.perf_counter()
    trained = train_from_history(store, playbook, seed=args.seed, settled_only=False if args.all_decided else None)
    timings["train_seconds"] = time.perf_counter() - started
    episodes = episode_data(store, playbook, trained.record.as_of)
    labels, features = learning_episodes(episodes, trained.settled_only)
    _, validation = time_split(labels["qualified_at"])
    truth = pd.DataFrame(store._run(TRUTH), columns=["lead_key", "propensity"])
    propensity = labels.merge(truth, on="lead_key", how="left")["propensity"].to_numpy()[validation]
    target = labels["converted"].astype(bool).to_numpy()[validation]
    model, baseline = trained.model.predict(features)[validation], trained.model.predict_baseline(features)[validation]
    return {
        "settled_only": trained.settled_only,
        "episodes": len(labels),
        "validation_episodes": int(validation.sum()),
        "validation_positive_rate": float(target.mean()),
        "truth_roc_auc": roc_auc(target, propensity),
        "model_roc_auc": roc_auc(target, model),
        "model_ece_in_sample": expected_calibration_error(target, model),
        "model_ece_cross_fitted": trained.record.metrics["expected_calibration_error"],
        "baseline_roc_auc": roc_auc(target, baseline),
        "baseline_ece": expected_calibration_error(target, baseline),
        "ece_noise_floor": calibration_noise_floor(model),
        "ece_noise_floor_95": calibration_noise_floor(model, quantile=0.95),
        "calibration": [b.model_dump() for b in calibration_curve(target, model)],
    }


def graded_later(store: DuckDBStore, args: argparse.Namespace) -> dict[str, Any]:
    """Train ``--graded-later`` days before the history's end, both ways (settled episodes only,
    every decided one), and grade both on final outcomes: the episodes settled at the end that
    were not yet settled when the models were trained (none of them taught the settled-only
    model; the other learnt from those already decided, with the labels they had then)."""
    playbook = parse_playbook(example_playbook_text(), "playbook.yaml")
    end = history_as_of(store)
    trained_at = end - dt.timedelta(days=args.graded_later)
    patience = dt.timedelta(days=playbook.model.predict.no_progress_days)
    final = episode_data(store, playbook, end)
    labels = final.labels
    graded = (
        labels["converted"].notna() & labels["settled"] & (labels["qualified_at"] > trained_at - patience)
    ).to_numpy()
    target, features = labels["converted"][graded].astype(bool).to_numpy(), final.features[graded]
    result: dict[str, Any] = {"graded_episodes": int(graded.sum()), "graded_observed_rate": float(target.mean())}
    for name, settled_only in (("settled", True), ("all_decided", False)):
        model = train_from_history(store, playbook, trained_at, args.seed, settled_only=settled_only).model
        probability = model.predict(features)
        result |= {
            f"graded_{name}_mean_predicted": float(probability.mean()),
            f"graded_{name}_ece": expected_calibration_error(target, probability),
            f"graded_{name}_roc_auc": roc_auc(target, probability),
        }
    result["graded_ece_noise_floor_95"] = calibration_noise_floor(probability, quantile=0.95)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        path = args.store or Path(scratch) / "leadgate.duckdb"
        fresh = not path.exists()
        store = DuckDBStore(path)
        try:
            if fresh:
                simulate(store, args, timings)
            result = {"leads": args.leads, "days": args.days, "seed": args.seed, **measure(store, args, timings)}
            if args.graded_later:
                result |= graded_later(store, args)
        finally:
            store.close()
    result.update({name: round(seconds, 1) for name, seconds in timings.items()})
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for name, value in result.items():
        if name != "calibration":
            print(f"{name:>33}: {round(value, 4) if isinstance(value, float) else value}")
    print("\n  predicted  observed  episodes  (validation, in-sample calibration, equal-mass bins)")
    for row in result["calibration"]:
        print(f"  {row['mean_predicted']:9.3f}  {row['observed_rate']:8.3f}  {row['count']:8d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
