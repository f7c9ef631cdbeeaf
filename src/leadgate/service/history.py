"""A lead's whole story, in time order: what it did, how it moved, who decided what and why."""

from __future__ import annotations

import json

from pydantic import BaseModel

from leadgate.domain.times import UtcTime
from leadgate.lifecycle.facts import SYSTEM_ACTOR, AssignmentFact, BreachFact, DecisionFact, Fact, TransitionFact
from leadgate.lifecycle.reassign import MANUAL
from leadgate.service.decisions import lead_key_of
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore

MAX_EVENTS = 500


class Entry(BaseModel):
    at: UtcTime
    kind: str  # event, transition, assignment, decision, sla_breach
    what: str
    who: str | None = None
    score: float | None = None
    details: dict[str, object] = {}


class History(BaseModel):
    lead_id: str
    stage: str
    owner: str | None
    episode: int
    version: int
    events_shown: int
    events_total: int
    entries: list[Entry]


def lead_history(store: Store, lead_id: str, max_events: int = MAX_EVENTS, lead_key: int | None = None) -> History:
    """Events (the latest ``max_events``), transitions with the score at that moment,
    assignments, decisions and SLA breaches, oldest first (``lead_key``: the lead's key when
    the caller has looked it up already)."""
    lead_key = lead_key_of(store, lead_id) if lead_key is None else lead_key
    lifecycle = LifecycleStore(store)
    entries = [_entry(fact) for fact in lifecycle.facts_of(lead_key)]
    events_total, events = store.events_of(lead_key, max_events)
    for ts, event, path, properties in events:
        what = event.replace("_", " ") + (f" {path}" if path else "")
        details = json.loads(properties) if properties else {}
        entries.append(Entry(at=ts, kind="event", what=what, details=details))
    state = lifecycle.state(lead_key)
    order = {"event": 0, "decision": 1, "sla_breach": 2, "transition": 3, "assignment": 4}
    entries.sort(key=lambda entry: (entry.at, order[entry.kind]))
    return History(
        lead_id=lead_id,
        stage=state.stage.value,
        owner=state.owner,
        episode=state.episode,
        version=state.version,
        events_shown=len(events),
        events_total=events_total,
        entries=entries,
    )


def richest_story(store: Store) -> str | None:
    """The lead whose story has the most moves, a won one first (for tours and demos)."""
    return LifecycleStore(store).lead_with_most_moves()


def _entry(fact: Fact) -> Entry:
    if isinstance(fact, TransitionFact):
        details: dict[str, object] = {"cause": fact.cause.value, "playbook_version": fact.playbook_version}
        if fact.contributions:
            details["contributions"] = json.loads(fact.contributions)
        if fact.cool_off_until:
            details["cool_off_until"] = fact.cool_off_until.isoformat()
        return Entry(
            at=fact.at,
            kind="transition",
            what=f"{fact.source} → {fact.target}: {fact.detail}",
            who=fact.actor,
            score=fact.score,
            details=details,
        )
    if isinstance(fact, AssignmentFact):
        due = f", decision due by {fact.due_at:%Y-%m-%d %H:%M} UTC" if fact.due_at else ""
        queue = "" if fact.queue == "rep" else " (manager's queue)"
        return Entry(
            at=fact.at,
            kind="assignment",
            what=f"assigned to {fact.owner}{queue}: {fact.reason}{due}",
            who=fact.rule if fact.cause == MANUAL else SYSTEM_ACTOR,  # a manual assignment's rule is its manager
            details={"rule": fact.rule, "method": fact.method, "team": fact.team, "cause": fact.cause},
        )
    if isinstance(fact, DecisionFact):
        parts = [fact.kind]
        if fact.reason:
            parts.append(f"reason {fact.reason}")
        if fact.checklist:
            parts.append(f"checklist {fact.checklist}")
        if fact.duplicate_of:
            parts.append(f"duplicate of {fact.duplicate_of}")
        if fact.note:
            parts.append(f"“{fact.note}”")
        return Entry(
            at=fact.at, kind="decision", what=", ".join(parts), who=fact.actor, details={"source": fact.source}
        )
    assert isinstance(fact, BreachFact)
    return Entry(
        at=fact.at,
        kind="sla_breach",
        what=f"SLA breached: {fact.owner} had until {fact.due_at:%Y-%m-%d %H:%M} UTC; action: {fact.action}",
        who=SYSTEM_ACTOR,
    )
