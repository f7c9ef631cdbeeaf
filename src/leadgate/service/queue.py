"""A rep's queue: the leads they own, best first, with the SLA time left and why each is hot."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
from pydantic import BaseModel

from leadgate.domain.times import UtcTime
from leadgate.lifecycle.decisions import require_rep
from leadgate.playbook.compiled import Playbook
from leadgate.routing.business_time import BusinessCalendar, business_minutes_between
from leadgate.routing.sla import calendar_of
from leadgate.service.moments import scores_with_state
from leadgate.service.scoring import SCORES_TABLE
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore

QUEUE_STAGES = ("sal_pending", "sal")


class QueueItem(BaseModel):
    lead_id: str
    account_name: str | None
    stage: str
    owner: str
    team: str | None
    queue: str
    score: float
    fit: float
    engagement: float
    assigned_at: UtcTime | None
    due_at: UtcTime | None
    sla_minutes_left: float | None  # business minutes; negative once overdue
    breaches: int  # SLA breaches since the lead qualified: others let it wait before
    hot_because: str
    version: int


def rep_queue(store: Store, playbook: Playbook, owner: str | None, as_of: dt.datetime) -> list[QueueItem]:
    """Leads of one owner (or of everyone): those awaiting acceptance first, then the accepted
    ones; best score first within each."""
    if owner is not None:
        require_rep(playbook.model, owner, also=LifecycleStore(store).open_leads_by_owner())
    if not store.has_table(SCORES_TABLE):
        return []
    joined = scores_with_state(store)
    joined = joined.filter(joined.stage.isin(list(QUEUE_STAGES)))
    if owner is not None:
        joined = joined.filter(joined.owner == owner)
    waiting_first = (joined.stage != "sal_pending").ifelse(1, 0)
    rows = joined.order_by([waiting_first, ibis.desc("score"), "lead_id"]).to_pyarrow().to_pylist()
    calendar = calendar_of(playbook.model)
    return [queue_item(row, playbook, calendar, as_of) for row in rows]


def _minutes_left(playbook: Playbook, calendar: BusinessCalendar, as_of: dt.datetime, due: dt.datetime) -> float:
    """Minutes before the deadline (negative once overdue): business minutes for a business SLA."""
    sla = playbook.model.stages.sal.sla
    if sla is not None and not sla.business:
        return (due - as_of).total_seconds() / 60
    return business_minutes_between(calendar, as_of, due)


def queue_item(row: dict[str, Any], playbook: Playbook, calendar: BusinessCalendar, as_of: dt.datetime) -> QueueItem:
    """A queue's line from a row of :func:`~leadgate.service.moments.scores_with_state`."""
    due = row.get("due_at")
    left = _minutes_left(playbook, calendar, as_of, due) if due is not None and row["stage"] == "sal_pending" else None
    return QueueItem(
        lead_id=row["lead_id"],
        account_name=row.get("account__name"),
        stage=row["stage"],
        owner=row["owner"],
        team=row.get("team"),
        queue=row.get("queue") or "rep",
        score=row["score"],
        fit=row["fit"],
        engagement=row["engagement"],
        assigned_at=row.get("assigned_at"),
        due_at=due if row["stage"] == "sal_pending" else None,
        sla_minutes_left=left,
        breaches=int(row.get("breaches") or 0),
        hot_because=hot_because(row, playbook),
        version=int(row["version"]),
    )


def hot_because(row: dict[str, Any], playbook: Playbook, count: int = 2) -> str:
    """The rules that give the most points, in one line: ``Demo request +40, Pricing page visit +12.6``."""
    gains = sorted(
        (
            (float(row[rule.column]), rule.label)
            for rule in playbook.rules
            if rule.column in row and (row[rule.column] or 0) > 0
        ),
        reverse=True,
    )
    return ", ".join(f"{label} +{points:.3g}" for points, label in gains[:count]) or "no positive signal"


def describe_time_left(minutes: float | None) -> str:
    """``2 h 30 min left`` / ``overdue by 45 min`` (business time)."""
    if minutes is None:
        return "-"
    late = minutes < 0
    whole = round(abs(minutes))
    hours, rest = divmod(whole, 60)
    text = f"{hours} h {rest:02d} min" if hours else f"{rest} min"
    return f"overdue by {text}" if late else f"{text} left"
