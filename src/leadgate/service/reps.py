"""The reps of the playbook's teams: who they are, their load and absences; marking absences.

One path for the CLI (``leadgate reps``) and, later, the API and the web app.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from leadgate.errors import UserError
from leadgate.lifecycle.decisions import known_reps, require_rep
from leadgate.playbook.compiled import Playbook
from leadgate.routing.assign import Absence
from leadgate.routing.sla import local_day
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore


class RepView(BaseModel):
    rep: str
    teams: list[str]
    manages: list[str]
    open_leads: int
    absences: list[dict[str, dt.date]]
    absent_today: bool


def rep_views(store: Store, playbook: Playbook, now: dt.datetime) -> list[RepView]:
    """Every rep and manager, with their teams, open leads and absences (today: the playbook's local day)."""
    model = playbook.model
    lifecycle = LifecycleStore(store)
    loads = lifecycle.open_leads_by_owner()
    absences = lifecycle.absences()
    today = local_day(model, now)
    views = []
    for rep, teams in sorted(known_reps(model).items()):
        own = [absence for absence in absences if absence.rep == rep]
        views.append(
            RepView(
                rep=rep,
                teams=sorted(team for team in teams if rep in model.teams[team].members),
                manages=sorted(team for team in teams if model.teams[team].manager == rep),
                open_leads=loads.get(rep, 0),
                absences=[{"from": absence.start, "to": absence.end} for absence in own],
                absent_today=any(absence.covers(today) for absence in own),
            )
        )
    return views


def mark_away(store: Store, playbook: Playbook, absence: Absence, now: dt.datetime) -> None:
    """Record that a rep is away (both days included): routing skips them, they cannot decide."""
    require_rep(playbook.model, absence.rep)
    if absence.end < absence.start:
        raise UserError(f"--to {absence.end} is before --from {absence.start}")
    LifecycleStore(store).record_absence(absence, now)


def mark_back(store: Store, playbook: Playbook, rep: str, first_day: dt.date, now: dt.datetime) -> Absence:
    """Cancel the absence of ``rep`` that starts on ``first_day``; the absence cancelled."""
    require_rep(playbook.model, rep)
    lifecycle = LifecycleStore(store)
    found = [absence for absence in lifecycle.absences() if absence.rep == rep and absence.start == first_day]
    if not found:
        raise UserError(f"{rep} has no absence starting on {first_day}")
    lifecycle.record_absence(found[0], now, cancelled=True)
    return found[0]
