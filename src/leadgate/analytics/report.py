"""Assemble the funnel report: every figure of :mod:`leadgate.analytics`, as one pydantic model.

The per-lead journeys table is computed once and cached on the engine (a temporary table), so
the dozen figures that read it do not recompute it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import ibis.expr.types as ir

from leadgate.analytics import calibration, funnel, reasons, recycling, sla, velocity
from leadgate.analytics.cohorts import Window
from leadgate.analytics.journeys import DIMENSIONS, FUNNEL_STAGES, STEPS, journeys
from leadgate.analytics.report_models import (
    DurationBin,
    FirstAction,
    FunnelReport,
    ModelCalibration,
    ReasonShare,
    RecycledComebacks,
    ScoreBand,
    SlaCompliance,
    StageCount,
    StepConversion,
    StepDuration,
    VolumePoint,
)
from leadgate.analytics.tables import FunnelTables
from leadgate.errors import UserError
from leadgate.predict.metrics import CalibrationBin

TREND_STEPS = (("inquiry", "mql"), ("mql", "sal"), ("sal", "sql"), ("qualified", "won"))
HISTOGRAM_STEPS = (("mql", "sal"), ("sal", "sql"), ("qualified", "won"))
Progress = Callable[[str], None]


def check_dimension(by: str | None) -> str | None:
    """The ``--by`` dimension, or :class:`UserError` naming the ones there are."""
    if by is not None and by not in DIMENSIONS:
        raise UserError(f"--by {by!r}: choose one of {', '.join(DIMENSIONS)}")
    return by


def build_report(
    tables: FunnelTables, window: Window, by: str | None = None, progress: Progress | None = None
) -> FunnelReport:
    """The whole report for the window, split by ``by`` where a figure can be."""
    check_dimension(by)
    say = progress or (lambda step: None)
    say("following each lead through the stages")
    cached = journeys(tables).cache()
    try:
        return _assemble(tables, cached, window, by, say)
    finally:
        cached.release()


def _assemble(
    tables: FunnelTables, lead_journeys: ir.Table, window: Window, by: str | None, say: Progress
) -> FunnelReport:
    say("conversion")
    counts = _rows(funnel.funnel_counts(lead_journeys, window))[0]
    conversion = _conversions(funnel.conversion(lead_journeys, window))
    conversion_by = _conversions(funnel.conversion(lead_journeys, window, by=by)) if by else []
    trends = _conversions(funnel.conversion(lead_journeys, window, by_cohort=True, steps=TREND_STEPS))
    say("velocity")
    velocity_rows = _durations(velocity.stage_durations(lead_journeys, window))
    velocity_by = _durations(velocity.stage_durations(lead_journeys, window, by)) if by else []
    histogram = [
        DurationBin(**row) for row in _rows(velocity.duration_histogram(lead_journeys, window, HISTOGRAM_STEPS))
    ]
    team_level = by if by in ("owner", "team") else None
    first_action = [
        FirstAction(value=row["value"], count=row["count"], median_hours=row["median"], p90_hours=row["p90"])
        for row in _rows(velocity.first_action_summary(tables, window, team_level))
    ]
    say("SLA, reasons and calibration")
    sla_rows = _sla(sla.sla_summary(tables, window, team_level))
    sla_by_cohort = _sla(sla.sla_summary(tables, window, by_cohort=True))
    recycled = RecycledComebacks(**_rows(recycling.recycled_comebacks(lead_journeys, window))[0])
    return FunnelReport(
        start=window.start,
        end=window.end,
        period=window.period,
        by=by,
        leads=int(counts["inquiry"] or 0),
        funnel=_funnel(counts),
        conversion=conversion,
        conversion_by=conversion_by,
        trends=trends,
        velocity=velocity_rows,
        velocity_by=velocity_by,
        velocity_histogram=sorted(histogram, key=lambda row: (row.step_from, row.step_to, row.day)),
        first_action=sorted(first_action, key=lambda row: row.value or ""),
        sla=sla_rows,
        sla_by_cohort=sla_by_cohort,
        reject_reasons=_pareto(tables, window, "reject"),
        disqualify_reasons=_pareto(tables, window, "disqualify"),
        recycled=recycled,
        score_bands=_score_bands(lead_journeys, window),
        model_calibration=_model_calibration(tables),
        volume=_volume(funnel.volume(lead_journeys, window)),
    )


def _rows(expression: ir.Table) -> list[dict[str, Any]]:
    return expression.to_pyarrow().to_pylist()


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _day(moment: dt.datetime | None) -> dt.date | None:
    return moment.date() if moment is not None else None


def _funnel(counts: dict[str, Any]) -> list[StageCount]:
    inquiries = int(counts["inquiry"] or 0)
    return [
        StageCount(
            stage=stage, leads=int(counts[stage] or 0), share_of_inquiries=_rate(int(counts[stage] or 0), inquiries)
        )
        for stage in FUNNEL_STAGES
    ]


def _conversions(expression: ir.Table) -> list[StepConversion]:
    found = [
        StepConversion(
            step_from=row["step_from"],
            step_to=row["step_to"],
            cohort=_day(row["cohort"]),
            value=row["value"],
            entered=row["entered"],
            converted=row["converted"],
            rate=_rate(row["converted"], row["entered"]),
        )
        for row in _rows(expression)
    ]
    order = {step: index for index, step in enumerate(STEPS)}
    return sorted(
        found,
        key=lambda row: (
            order.get((row.step_from, row.step_to), 99),
            row.cohort or dt.date.min,
            -row.entered,
            row.value or "",
        ),
    )


def _durations(expression: ir.Table) -> list[StepDuration]:
    order = {step: index for index, step in enumerate(STEPS)}
    found = [
        StepDuration(
            step_from=row["step_from"],
            step_to=row["step_to"],
            value=row["value"],
            count=row["count"],
            median_days=row["median"],
            p90_days=row["p90"],
            mean_days=row["mean"],
        )
        for row in _rows(expression)
    ]
    return sorted(found, key=lambda row: (order[row.step_from, row.step_to], -row.count, row.value or ""))


def _sla(expression: ir.Table) -> list[SlaCompliance]:
    found = [
        SlaCompliance(
            cohort=_day(row["cohort"]),
            value=row["value"],
            on_time=row["on_time"],
            breached=row["breached"],
            open=row["open"],
            compliance=_rate(row["on_time"], row["on_time"] + row["breached"]),
        )
        for row in _rows(expression)
    ]
    return sorted(found, key=lambda row: (row.cohort or dt.date.min, row.value or ""))


def _pareto(tables: FunnelTables, window: Window, kind: str) -> list[ReasonShare]:
    counts = [(row["reason"], row["count"]) for row in _rows(reasons.reason_counts(tables, window, kind))]
    return [
        ReasonShare(reason=reason, count=count, share=share, cumulative_share=cumulative)
        for reason, count, share, cumulative in reasons.pareto(counts)
    ]


def _score_bands(lead_journeys: ir.Table, window: Window) -> list[ScoreBand]:
    found = [
        ScoreBand(**row, sql_rate=_rate(row["sql"], row["leads"]), won_rate=_rate(row["won"], row["leads"]))
        for row in _rows(calibration.score_bands(lead_journeys, window))
    ]
    return sorted(found, key=lambda row: row.band)


def _model_calibration(tables: FunnelTables) -> ModelCalibration | None:
    model = tables.model
    if model is None:
        return None
    return ModelCalibration(
        model_version=model.version,
        converts_at=model.converts_at,
        validation_from=model.validation_from,
        episodes=model.n_validation,
        expected_calibration_error=model.metrics["expected_calibration_error"],
        bins=[CalibrationBin(**item) for item in model.metrics["calibration"]],
    )


def _volume(expression: ir.Table) -> list[VolumePoint]:
    found = [
        VolumePoint(period=row["period"].date(), stage=row["stage"], leads=row["leads"]) for row in _rows(expression)
    ]
    return sorted(found, key=lambda row: (row.period, row.stage))
