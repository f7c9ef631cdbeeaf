"""The funnel report as data: what ``leadgate report --json`` prints and the HTML page draws."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from leadgate.predict.metrics import CalibrationBin


class StageCount(BaseModel):
    stage: str
    leads: int
    share_of_inquiries: float | None


class StepConversion(BaseModel):
    step_from: str
    step_to: str
    cohort: dt.date | None = None
    value: str | None = None  # the --by dimension's value
    entered: int
    converted: int
    rate: float | None


class StepDuration(BaseModel):
    step_from: str
    step_to: str
    value: str | None = None
    count: int
    median_days: float | None
    p90_days: float | None
    mean_days: float | None


class DurationBin(BaseModel):
    step_from: str
    step_to: str
    day: int  # whole days (the last bin holds everything longer)
    leads: int


class FirstAction(BaseModel):
    value: str | None = None
    count: int
    median_hours: float | None
    p90_hours: float | None


class SlaCompliance(BaseModel):
    cohort: dt.date | None = None
    value: str | None = None
    on_time: int
    breached: int
    open: int
    compliance: float | None  # on_time / (on_time + breached)


class ReasonShare(BaseModel):
    reason: str
    count: int
    share: float
    cumulative_share: float


class RecycledComebacks(BaseModel):
    recycled: int
    qualified: int
    sal: int
    sql: int
    won: int


class ScoreBand(BaseModel):
    band: float  # the band's lower bound
    leads: int
    sql: int
    won: int
    sql_rate: float | None
    won_rate: float | None


class ModelCalibration(BaseModel):
    """The latest predictive model on its validation episodes: predicted against observed."""

    model_version: int
    converts_at: str  # what the probability is of: reaching sql, or won
    validation_from: dt.datetime
    episodes: int
    expected_calibration_error: float
    bins: list[CalibrationBin]


class VolumePoint(BaseModel):
    period: dt.date
    stage: str
    leads: int


class FunnelReport(BaseModel):
    """Every figure of the report; each is defined in docs/analytics.md."""

    start: dt.datetime | None
    end: dt.datetime | None
    period: str
    by: str | None
    leads: int
    funnel: list[StageCount]
    conversion: list[StepConversion]
    conversion_by: list[StepConversion]
    trends: list[StepConversion]
    velocity: list[StepDuration]
    velocity_by: list[StepDuration]
    velocity_histogram: list[DurationBin]
    first_action: list[FirstAction]
    sla: list[SlaCompliance]
    sla_by_cohort: list[SlaCompliance]
    reject_reasons: list[ReasonShare]
    disqualify_reasons: list[ReasonShare]
    recycled: RecycledComebacks
    score_bands: list[ScoreBand]
    model_calibration: ModelCalibration | None
    volume: list[VolumePoint]
