"""Where a backtest's passed leads would have gone: the playbook's routing, applied set-wise.

Each passed lead takes the first routing rule whose condition held when it passed (the
``r_<i>`` flags of that checkpoint) and whose target can take it: ``account_owner`` needs an
account owner, ``rep NAME`` and ``team NAME`` always can. A lead no rule takes goes to the
manager's queue of the playbook's first team, as :func:`leadgate.routing.assign.route` does.

What this assumes, so that no code runs per lead: every rep is present and has room (absences
and ``max_open_per_rep`` are ignored), and a team's leads are shared among its members as its
method shares them over time: evenly for ``round_robin`` and ``least_loaded``, by weight for
``weighted``. A rep's load can therefore be fractional.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

import numpy as np
import pandas as pd

from leadgate.analytics.backtest_models import Load
from leadgate.playbook.compiled import Playbook
from leadgate.routing.sla import calendar_of
from leadgate.scoring.engine import routing_column

ASSUMPTIONS = [
    "every rep is present and has room: absences and max_open_per_rep are ignored",
    "a team's leads are shared among its members evenly (round_robin, least_loaded) or by weight (weighted)",
    "a lead passes once: nobody accepts, rejects or recycles the leads a playbook would have passed",
    "pass times are the checkpoints': a lead passed between two checkpoints is seen at the later one",
]


def route_passes(passes: pd.DataFrame, playbook: Playbook) -> pd.DataFrame:
    """``passes`` with ``rule`` (the routing rule's index, -1 for the manager's queue) and
    ``target`` (a team name, a rep's name or the account owner's name)."""
    model = playbook.model
    rule = np.full(len(passes), -1)
    target = np.full(len(passes), None, dtype=object)
    free = np.ones(len(passes), dtype=bool)
    for index, routing in enumerate(model.routing):
        holds = np.ones(len(passes), dtype=bool)
        if routing.when is not None:
            holds = passes[routing_column(index)].fillna(False).to_numpy(dtype=bool)
        if routing.to.kind == "account_owner":
            holds &= passes["account_owner"].notna().to_numpy()
            names = passes["account_owner"].to_numpy(dtype=object)
        else:
            names = np.full(len(passes), routing.to.name, dtype=object)
        taken = free & holds
        rule[taken], target[taken] = index, names[taken]
        free &= ~taken
    target[free] = next(iter(model.teams), None)  # the first team's manager queue
    return passes.assign(rule=rule, target=target)


def team_and_rep_loads(
    routed: pd.DataFrame, playbook: Playbook, business_days: int, week_days: dict[dt.date, int]
) -> tuple[list[Load], list[Load]]:
    """Load per team and per rep (the manager's queue counts for the manager)."""
    model = playbook.model
    teams: dict[str, pd.Series] = {}
    reps: dict[str, pd.Series] = {}
    for key, group in routed.groupby(["rule", "target"], dropna=True):
        index, target = cast(tuple[int, str], key)
        weekly = group.groupby("week").size().astype(float)
        if index == -1:
            _add(teams, str(target), weekly)
            _add(reps, model.teams[str(target)].manager, weekly)
            continue
        routing = model.routing[int(index)]
        if routing.to.kind != "team":
            _add(reps, str(target), weekly)
            continue
        _add(teams, str(target), weekly)
        for member, share in _shares(playbook, int(index)).items():
            _add(reps, member, weekly * share)
    return _loads(teams, business_days, week_days), _loads(reps, business_days, week_days)


def _shares(playbook: Playbook, index: int) -> dict[str, float]:
    routing = playbook.model.routing[index]
    members = playbook.model.teams[routing.to.name or ""].members
    weights = {member: 1.0 for member in members}
    if routing.method == "weighted":
        weights = {member: float((routing.weights or {}).get(member, 1)) for member in members}
    total = sum(weights.values())
    return {member: weight / total for member, weight in weights.items()}


def _add(loads: dict[str, pd.Series], name: str, weekly: pd.Series) -> None:
    loads[name] = weekly if name not in loads else loads[name].add(weekly, fill_value=0.0)


def _loads(loads: dict[str, pd.Series], business_days: int, week_days: dict[dt.date, int]) -> list[Load]:
    found = []
    for name, weekly in sorted(loads.items()):
        per_day = [value / max(week_days.get(week, 0), 1) for week, value in weekly.items()]  # type: ignore[call-overload]
        found.append(
            Load(
                name=name,
                leads=round(float(weekly.sum()), 3),
                per_business_day=round(float(weekly.sum()) / max(business_days, 1), 3),
                busiest_week=round(float(weekly.max()), 3),
                busiest_week_per_business_day=round(max(per_day), 3),
            )
        )
    return found


def business_days(playbook: Playbook, start: dt.datetime, end: dt.datetime) -> dict[dt.date, int]:
    """Working days of the playbook's calendar between ``start`` and ``end``, by week (its Monday)."""
    calendar = calendar_of(playbook.model)
    days: dict[dt.date, int] = {}
    day = start.date()
    while day <= end.date():
        week = day - dt.timedelta(days=day.weekday())
        days[week] = days.get(week, 0) + (1 if calendar.is_working_day(day) else 0)
        day += dt.timedelta(days=1)
    return days
