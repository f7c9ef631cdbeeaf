"""``leadgate predict`` and ``leadgate model report``, and ``leadgate train``'s history mode
(:func:`train_from_workspace`, called by ``train`` when no ``--csv`` is given)."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from leadgate.cli.app import app, parse_moment, state
from leadgate.cli.output import console, number, print_json, spinner
from leadgate.errors import UserError

model_app = typer.Typer(help="The predictive model learnt from the history: its metrics.", no_args_is_help=True)
app.add_typer(model_app, name="model")


def train_from_workspace(ctx: typer.Context, as_json: bool, seed: int = 0) -> None:
    """Train on the workspace's own history (settled qualification episodes) and store a new model version."""
    from leadgate.predict.history_training import train_from_history  # LightGBM loads on demand

    workspace = state(ctx).workspace()
    playbook = workspace.playbook()
    with spinner("training on the history", enabled=not as_json):
        trained = train_from_history(workspace.store, playbook, seed=seed)
    record = trained.record
    if as_json:
        print_json(_record_json(record) | {"settled_only": trained.settled_only})
        return
    days = playbook.model.predict.no_progress_days
    caveat = (
        ""
        if trained.settled_only
        else f" Too few episodes are settled ({days} days old), so recent decided ones were used too: they lean "
        f"towards conversion, 'no progress' taking {days} days to show."
    )
    kind = "settled" if trained.settled_only else "decided"
    console.print(
        f"Model version {record.version}: trained on {record.n_train:,} {kind} episodes qualified from "
        f"{record.window_start:%Y-%m-%d} and validated on the {record.n_validation:,} most recent ones "
        f"(from {record.validation_from:%Y-%m-%d} to {record.window_end:%Y-%m-%d}); converted means "
        f"{record.converts_at}. Validation ROC AUC {number(record.metrics['roc_auc'], 3)} "
        f"(logistic baseline {number(record.baseline_metrics['roc_auc'], 3)}).{caveat} Next: leadgate predict.",
        highlight=False,
    )


@app.command()
def predict(
    ctx: typer.Context,
    as_of: str | None = typer.Option(
        None, "--as-of", help="The moment of the features (default: the latest scoring run's)."
    ),
    top: int = typer.Option(10, "--top", min=0, help="How many of the likeliest leads to show."),
    as_json: bool = typer.Option(False, "--json", help="Print every lead's prediction as JSON."),
) -> None:
    """Score the current leads with the latest model: p_convert, kept apart from the rule scores, with its top factors."""
    from leadgate.predict.features import feature_label
    from leadgate.predict.history_training import predict_current
    from leadgate.predict.model_store import ModelStore

    workspace = state(ctx).workspace()
    playbook = workspace.playbook()
    with spinner("predicting", enabled=not as_json):
        run = predict_current(workspace.store, playbook, parse_moment(as_of))
    rows = ModelStore(workspace.store).predictions()
    if as_json:
        print_json(
            {
                "model_version": run.model_version,
                "as_of": run.as_of,
                "leads": run.leads,
                "predictions": [_prediction_json(row) for row in rows],
            }
        )
        return
    console.print(
        f"Model version {run.model_version} scored {run.leads:,} leads as of {run.as_of:%Y-%m-%d %H:%M} UTC "
        "(table lead_predictions).",
        highlight=False,
    )
    table = Table("lead", "p_convert", "top factors (log-odds)")
    for row in rows[:top]:
        factors = ", ".join(
            f"{feature_label(playbook, item['feature'])} {item['log_odds']:+.2f}" for item in _factors(row[5])
        )
        table.add_row(str(row[1] or row[0]), f"{row[3]:.3f}", factors)
    console.print(table)


@model_app.command("report")
def model_report(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """The latest model's validation metrics beside the logistic baseline's: ROC AUC, PR AUC, top-decile lift,
    Brier score, calibration curve; and whether the validation episodes are enough to tell the two apart
    (the ROC AUC's 95% margin, also in --json as roc_auc_margin)."""
    from leadgate.predict.model_store import ModelStore

    record = ModelStore(state(ctx).workspace().store).latest()
    if record is None:
        raise UserError("no model yet: run 'leadgate train' first")
    margin = auc_margin_of(record)
    if as_json:
        print_json(_record_json(record) | {"roc_auc_margin": margin})
        return
    console.print(
        f"Model version {record.version} (playbook version {record.playbook_version}, converted means "
        f"{record.converts_at}), validated on {record.n_validation:,} episodes from {record.validation_from:%Y-%m-%d}.",
        highlight=False,
    )
    table = Table("metric", "model", "logistic baseline")
    for name in ("roc_auc", "pr_auc", "top_decile_lift", "brier", "expected_calibration_error", "positive_rate"):
        table.add_row(name, number(record.metrics[name], 3), number(record.baseline_metrics[name], 3))
    console.print(table)
    curve = Table("mean predicted", "observed rate", "episodes", title="calibration (validation part)")
    for item in record.metrics["calibration"]:
        curve.add_row(f"{item['mean_predicted']:.3f}", f"{item['observed_rate']:.3f}", str(item["count"]))
    console.print(curve)
    verdict = validation_verdict(record, margin)
    if verdict:
        console.print(verdict, highlight=False)


def _converted(record: Any) -> int:
    """How many of the validation episodes converted."""
    return round(record.metrics["positive_rate"] * record.n_validation)


def auc_margin_of(record: Any) -> float | None:
    """The 95% margin of the model's validation ROC AUC (see :func:`roc_auc_margin`)."""
    from leadgate.predict.metrics import roc_auc_margin

    converted = _converted(record)
    return roc_auc_margin(record.metrics["roc_auc"], converted, record.n_validation - converted)


def validation_verdict(record: Any, margin: float | None) -> str | None:
    """Whether the validation is large enough to tell the model from the logistic baseline."""
    model, baseline = record.metrics["roc_auc"], record.baseline_metrics["roc_auc"]
    if margin is None or model is None or baseline is None:
        return None
    known = (
        f"On {record.n_validation:,} validation episodes ({_converted(record):,} converted), a ROC AUC is known to "
        f"about ±{margin:.3f} (95%, Hanley–McNeil)"
    )
    if abs(model - baseline) < margin:
        return (
            f"{known}: the model's {model:.3f} and the baseline's {baseline:.3f} are closer than that, so this "
            "validation cannot tell them apart; more settled outcomes will."
        )
    better = "ahead of" if model > baseline else "behind"
    return f"{known}: the model's {model:.3f} is {better} the baseline's {baseline:.3f} by more than that."


def _record_json(record: Any) -> dict[str, Any]:
    return dict(record.__dict__)


def _factors(text: str | None) -> list[dict[str, Any]]:
    import json

    return list(json.loads(text)) if text else []


def _prediction_json(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"lead_id": row[1], "lead_key": row[0], "p_convert": row[3], "top_factors": _factors(row[5])}
