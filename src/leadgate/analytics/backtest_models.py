"""What a backtest reports (also its ``--json`` shape); every figure is defined in docs/backtest.md."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class WeekVolume(BaseModel):
    """Leads passed in one week (Monday to Sunday, UTC), by the stage they passed into."""

    week: dt.date
    mql: int
    pql: int


class Load(BaseModel):
    """The leads a team or a rep would have received, with the pressure on the SLA."""

    name: str
    leads: float  # a team's leads are shared among its members (see the assumptions): may be fractional
    per_business_day: float  # leads / business days of the window
    busiest_week: float  # the most leads in one week
    busiest_week_per_business_day: float  # that week's leads / its business days


class PlaybookFigures(BaseModel):
    """One playbook's replay."""

    name: str
    version: int
    passed: int
    mql: int
    pql: int
    weeks: list[WeekVolume]
    teams: list[Load]
    reps: list[Load]
    converted_passed: int  # passed leads that converted in the window
    precision: float | None  # converted_passed / passed
    recall: float | None  # converted_passed / converted leads of the window


class Shift(BaseModel):
    """How much later (positive) or earlier (negative) the candidate passes converted leads that
    both playbooks pass, in days."""

    leads: int
    earlier: int
    same: int
    later: int
    median_days: float | None
    p90_days: float | None


class ConvertedLead(BaseModel):
    """A converted lead one playbook passes and the other never does."""

    lead_id: str
    converted_at: dt.datetime
    passed_at: dt.datetime  # when the playbook that does pass it passes it


class BacktestReport(BaseModel):
    start: dt.datetime
    end: dt.datetime
    every: str
    checkpoints: int
    business_days: int
    sla: str | None
    assumptions: list[str]
    current: PlaybookFigures
    candidate: PlaybookFigures
    converted: int  # leads that converted in the window
    captured: int  # of those, the ones the candidate passes
    missed: int  # of those, the ones the candidate never passes
    lost: list[ConvertedLead]  # converted leads the current playbook passes and the candidate never does
    gained: list[ConvertedLead]  # converted leads the candidate passes and the current playbook never does
    shift: Shift
    # How each playbook was replayed when not in one pass (a construct the one-pass engine cannot express)
    notes: list[str] = []
