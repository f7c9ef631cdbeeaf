"""What a manager watches: the open leads of their teams, the SLA breaches, the reps' absences.

The reads behind the web app's team pages. ``teams`` is the reach of the viewer (the teams a
manager manages; None for an administrator: every team), applied here in one place so no page
shows a lead, a breach or a rep of a team its viewer does not manage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel

from leadgate.domain.times import UtcTime
from leadgate.lifecycle.reassign import present_members
from leadgate.playbook.compiled import Playbook
from leadgate.playbook.model import PlaybookModel
from leadgate.routing.business_time import business_minutes_between
from leadgate.routing.sla import calendar_of, local_day
from leadgate.service.moments import scores_with_state
from leadgate.service.queue import QUEUE_STAGES, QueueItem, queue_item
from leadgate.service.reps import RepView, rep_views
from leadgate.service.scoring import SCORES_TABLE
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore
from leadgate.store.schema import LEAD_STATE_TABLE

Teams = Collection[str] | None  # the teams a viewer sees (None: every team)

# What the playbook did about a breach, said to a manager.
BREACH_ACTIONS = {
    "reassign": "given to another rep of the team",
    "escalate": "sent to the manager's queue",
    "recycle": "sent back to nurture",
}


@dataclass(frozen=True)
class TeamLead:
    """A lead of the team's queue: the queue's item, its team, and whom it can be moved to."""

    item: QueueItem
    team: str | None
    late: bool  # awaiting acceptance past its deadline
    choices: tuple[str, ...]  # the team's reps present today, its owner left out


class BreachRow(BaseModel):
    lead_id: str
    rep: str  # who let the deadline pass
    team: str | None
    due_at: UtcTime
    at: UtcTime  # when leadgate recorded the breach (and acted)
    minutes_late: float  # business minutes for a business-hours SLA
    action: str
    stage: str  # the lead's stage now
    owner_now: str | None


def visible_teams(model: PlaybookModel, teams: Teams) -> list[str]:
    """The playbook's teams the viewer sees, in the playbook's order."""
    return [name for name in model.teams if teams is None or name in teams]


def members_of(model: PlaybookModel, teams: Collection[str]) -> list[str]:
    """The reps of these teams (managers excluded), each once, in the playbook's order."""
    return list(dict.fromkeys(rep for name in teams for rep in model.teams[name].members))


TEAM_PAGE_LEADS = 100  # the most urgent leads a team page lists; its counts cover them all


@dataclass(frozen=True)
class TeamLeads:
    """The most urgent open leads of the teams (at most ``limit``), and how many there are."""

    leads: list[TeamLead]
    total: int
    late: int


def team_leads(
    store: Store,
    playbook: Playbook,
    teams: Teams,
    now: dt.datetime,
    team: str | None = None,
    rep: str | None = None,
    limit: int = TEAM_PAGE_LEADS,
) -> TeamLeads:
    """The open leads of the teams waiting on sales (awaiting acceptance, or accepted), late
    ones first, then those awaiting acceptance, the soonest due, the best score; optionally of
    one team or one rep. The database filters, orders and counts: only the listed leads are read."""
    if not store.has_table(SCORES_TABLE):
        return TeamLeads([], 0, 0)
    model = playbook.model
    joined = scores_with_state(store)
    joined = joined.filter(joined.stage.isin(list(QUEUE_STAGES)))
    joined = joined.mutate(
        shown_team=_team_of(model, joined.team, joined.owner),
        late=(joined.stage == "sal_pending") & (joined.due_at < now),
    )
    chosen = [team] if team is not None else visible_teams(model, teams)
    joined = joined.filter(joined.shown_team.isin(chosen or [""]))
    if rep is not None:
        joined = joined.filter(joined.owner == rep)
    counts = joined.aggregate(total=joined.count(), late=joined.late.sum()).to_pyarrow().to_pylist()[0]
    waiting = joined.stage == "sal_pending"
    due = waiting.ifelse(joined.due_at, ibis.null("timestamp"))  # an accepted lead's deadline is past business
    urgent = joined.order_by(
        [ibis.desc("late"), waiting.ifelse(0, 1), due.asc(nulls_first=False), ibis.desc("score"), "lead_id"]
    ).limit(limit)
    absences = LifecycleStore(store).absences()
    day = local_day(model, now)
    calendar = calendar_of(model)
    leads = []
    for row in urgent.to_pyarrow().to_pylist():
        item = queue_item(row, playbook, calendar, now)
        choices = tuple(name for name in present_members(model, row["shown_team"], absences, day) if name != item.owner)
        leads.append(TeamLead(item, row["shown_team"], bool(row["late"]), choices))
    return TeamLeads(leads, int(counts["total"] or 0), int(counts["late"] or 0))


def _team_of(model: PlaybookModel, team: ir.StringColumn, owner: ir.StringColumn) -> ir.StringValue:
    """:func:`~leadgate.lifecycle.reassign.team_of` as a column: the lead's team if it is one of
    the playbook's, else the first team listing its owner."""
    first_team: dict[str, str] = {}
    for name, found in model.teams.items():
        for member in found.members:
            first_team.setdefault(member, name)
    by_owner = ibis.cases(*((owner == member, name) for member, name in first_team.items()), else_=ibis.null("string"))
    return team.isin(list(model.teams)).ifelse(team, by_owner)


def team_breaches(store: Store, playbook: Playbook, teams: Teams, limit: int = 50) -> list[BreachRow]:
    """The latest SLA breaches of the teams' reps, newest first."""
    if not store.has_table(SCORES_TABLE):
        return []
    model = playbook.model
    shown = visible_teams(model, teams)
    backend = store.backend
    breaches = backend.table("sla_breaches")
    if teams is not None:
        breaches = breaches.filter(breaches.owner.isin(members_of(model, shown) or [""]))
    breaches = breaches.order_by(ibis.desc("seq")).limit(limit)
    ids = backend.table(SCORES_TABLE).select(id_key="lead_key", lead_id="lead_id")
    states = backend.table(LEAD_STATE_TABLE).select(state_key="lead_key", stage="stage", owner_now="owner")
    joined = breaches.left_join(ids, breaches.lead_key == ids.id_key).left_join(
        states, breaches.lead_key == states.state_key
    )
    rows = joined.order_by(ibis.desc("seq")).to_pyarrow().to_pylist()
    return [_breach(model, shown, row) for row in rows]


def _breach(model: PlaybookModel, shown: list[str], row: dict[str, object]) -> BreachRow:
    due, at = row["due_at"], row["at"]
    assert isinstance(due, dt.datetime) and isinstance(at, dt.datetime)
    rep = str(row["owner"])
    sla = model.stages.sal.sla
    late = business_minutes_between(calendar_of(model), due, at) if sla is None or sla.business else None
    return BreachRow(
        lead_id=str(row["lead_id"] or row["lead_key"]),
        rep=rep,
        team=next((name for name in shown if rep in model.teams[name].members), None),
        due_at=due,
        at=at,
        minutes_late=(at - due).total_seconds() / 60 if late is None else late,
        action=str(row["action"]),
        stage=str(row["stage"] or "inquiry"),
        owner_now=str(row["owner_now"]) if row["owner_now"] else None,
    )


def team_reps(store: Store, playbook: Playbook, teams: Teams, now: dt.datetime) -> list[RepView]:
    """The reps of the teams with their open leads and absences (the teams' managers left out)."""
    shown = set(visible_teams(playbook.model, teams))
    return [view for view in rep_views(store, playbook, now) if shown & set(view.teams)]
