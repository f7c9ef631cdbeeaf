"""A backtest's figures: both playbooks replayed over one window, judged against the recorded outcomes.

:func:`run_backtest` is the entry point. The replay (:mod:`leadgate.analytics.backtest`) gives
one row per passed lead and playbook; everything here is arithmetic over those rows and the
conversions (:mod:`leadgate.analytics.backtest_outcomes`), done column-wise with pandas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from leadgate.analytics.backtest import Window
from leadgate.analytics.backtest_load import ASSUMPTIONS, business_days, route_passes, team_and_rep_loads
from leadgate.analytics.backtest_models import BacktestReport, ConvertedLead, PlaybookFigures, Shift, WeekVolume
from leadgate.analytics.backtest_outcomes import conversions
from leadgate.analytics.backtest_replay import replay
from leadgate.playbook.compiled import Playbook
from leadgate.store.base import Store

DAY_SECONDS = 86_400.0
Progress = Callable[[int, int], None]


def run_backtest(
    store: Store, current: Playbook, candidate: Playbook, window: Window, progress: Progress | None = None
) -> BacktestReport:
    """Replay ``window`` under both playbooks; ``progress`` hears (checkpoints done, in all) across both."""
    checkpoints = window.checkpoints()
    # the two may share a name and version (a candidate is often the current file, edited)
    labels = [
        f"the {role} ({playbook.name} v{playbook.version})"
        for role, playbook in (("current playbook", current), ("candidate", candidate))
    ]
    replayed, notes = replay(store, [current, candidate], checkpoints, progress, labels=labels)
    current_passes, candidate_passes = (_frame(passes) for passes in replayed)
    converted = conversions(store, window.start, window.end).to_pandas()
    week_days = business_days(current, window.start, window.end)
    days = sum(week_days.values())
    both = current_passes.merge(candidate_passes, on="lead_key", how="outer", suffixes=("_current", "_candidate"))
    judged = converted.merge(both, on="lead_key", how="left")
    caught = judged["passed_at_candidate"].notna()
    sla = current.model.stages.sal.sla
    return BacktestReport(
        start=window.start,
        end=window.end,
        every=window.every,
        checkpoints=len(checkpoints),
        business_days=days,
        sla=str(sla) if sla is not None else None,
        assumptions=ASSUMPTIONS,
        current=_figures(current, current_passes, converted, days, week_days),
        candidate=_figures(candidate, candidate_passes, converted, days, week_days),
        converted=len(converted),
        captured=int(caught.sum()),
        missed=int((~caught).sum()),
        lost=_only_one(judged, "current", "candidate"),
        gained=_only_one(judged, "candidate", "current"),
        shift=_shift(judged),
        notes=notes,
    )


def _frame(passes: pa.Table) -> pd.DataFrame:
    frame = passes.to_pandas()
    days = frame["passed_at"].dt.normalize()
    return frame.assign(week=(days - pd.to_timedelta(days.dt.weekday, unit="D")).dt.date)


def _figures(
    playbook: Playbook, passes: pd.DataFrame, converted: pd.DataFrame, days: int, week_days: dict[dt.date, int]
) -> PlaybookFigures:
    routed = route_passes(passes, playbook)
    teams, reps = team_and_rep_loads(routed, playbook, days, week_days)
    true_positives = int(passes["lead_key"].isin(converted["lead_key"]).sum())
    return PlaybookFigures(
        name=playbook.name,
        version=playbook.version,
        passed=len(passes),
        mql=int((passes["stage"] == "mql").sum()),
        pql=int((passes["stage"] == "pql").sum()),
        weeks=_weeks(passes),
        teams=teams,
        reps=reps,
        converted_passed=true_positives,
        precision=_ratio(true_positives, len(passes)),
        recall=_ratio(true_positives, len(converted)),
    )


def _weeks(passes: pd.DataFrame) -> list[WeekVolume]:
    counts = passes.groupby(["week", "stage"]).size().unstack(fill_value=0)
    return [
        WeekVolume(week=week, mql=int(row.get("mql", 0)), pql=int(row.get("pql", 0)))  # type: ignore[arg-type]
        for week, row in counts.sort_index().iterrows()
    ]


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _only_one(judged: pd.DataFrame, passes: str, never: str) -> list[ConvertedLead]:
    """The converted leads ``passes`` passes and ``never`` never does, by conversion time."""
    rows = judged[judged[f"passed_at_{passes}"].notna() & judged[f"passed_at_{never}"].isna()]
    rows = rows.sort_values(["converted_at", f"lead_id_{passes}"])
    return [
        ConvertedLead(lead_id=lead_id, converted_at=converted_at, passed_at=passed_at)
        for lead_id, converted_at, passed_at in zip(
            rows[f"lead_id_{passes}"], rows["converted_at"].tolist(), rows[f"passed_at_{passes}"].tolist(), strict=True
        )
    ]


def _shift(judged: pd.DataFrame) -> Shift:
    both = judged[judged["passed_at_current"].notna() & judged["passed_at_candidate"].notna()]
    days = ((both["passed_at_candidate"] - both["passed_at_current"]).dt.total_seconds() / DAY_SECONDS).to_numpy()
    return Shift(
        leads=len(days),
        earlier=int((days < 0).sum()),
        same=int((days == 0).sum()),
        later=int((days > 0).sum()),
        median_days=round(float(np.median(days)), 3) if len(days) else None,
        p90_days=round(float(np.percentile(days, 90)), 3) if len(days) else None,
    )
