"""The facts of the hand-off, and the current state of a lead as their fold.

Everything that happens to a lead after it is scored is one of these immutable facts:
a *transition* (from a stage to another, with its cause, who, when, the playbook version and
the score at that moment), an *assignment* (to a rep or a manager's queue, with the rule that
chose it and the SLA deadline), a *decision* (what a salesperson decided, with reason and
note) or an *SLA breach*. A lead's :class:`LeadState` is :func:`fold` of its facts in order;
the store keeps it as a table for speed, and a test recomputes it from the facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from leadgate.domain.stages import Stage
from leadgate.lifecycle.machine import CLOSED_STAGES, Cause, Transition, check_transition

SYSTEM_ACTOR = "leadgate"


@dataclass(frozen=True)
class TransitionFact:
    lead_key: int
    source: Stage
    target: Stage
    cause: Cause
    detail: str  # the rule, the decision's reason, the SLA, in words
    actor: str  # a rep, or "leadgate"
    at: dt.datetime
    playbook_version: int
    score: float | None = None
    fit: float | None = None
    engagement: float | None = None
    contributions: str | None = None  # JSON: [{rule, points}] at that moment
    cool_off_until: dt.datetime | None = None  # recycled: when it may qualify again
    reset_engagement: bool = False  # recycled: engagement counts again from this moment


@dataclass(frozen=True)
class Moment:
    """A lead's score when it moves (recorded on the transition)."""

    score: float | None = None
    fit: float | None = None
    engagement: float | None = None
    contributions: str | None = None  # JSON: [{rule, points}]


def checked_move(
    table: tuple[Transition, ...],
    state: LeadState,
    target: Stage,
    cause: Cause,
    detail: str,
    actor: str,
    at: dt.datetime,
    playbook_version: int,
    moment: Moment,
    cool_off_until: dt.datetime | None = None,
    reset_engagement: bool = False,
) -> TransitionFact:
    """The one way to make a move: refused (:class:`~leadgate.lifecycle.machine.TransitionRefused`)
    unless the stage machine's table allows it, and recorded with the score at that moment."""
    check_transition(table, state.stage, target, cause)
    return TransitionFact(
        lead_key=state.lead_key,
        source=state.stage,
        target=target,
        cause=cause,
        detail=detail,
        actor=actor,
        at=at,
        playbook_version=playbook_version,
        score=moment.score,
        fit=moment.fit,
        engagement=moment.engagement,
        contributions=moment.contributions,
        cool_off_until=cool_off_until,
        reset_engagement=reset_engagement,
    )


@dataclass(frozen=True)
class AssignmentFact:
    lead_key: int
    owner: str
    team: str | None
    queue: str  # "rep" or "manager"
    rule: str
    method: str
    reason: str
    at: dt.datetime
    due_at: dt.datetime | None  # the SLA deadline to accept or reject, if any
    cause: str  # routing, sla_reassign, sla_escalate


@dataclass(frozen=True)
class DecisionFact:
    lead_key: int
    kind: str  # accept, reject, qualify, disqualify, opportunity, won, lost
    actor: str
    at: dt.datetime
    reason: str | None = None
    note: str | None = None
    checklist: str | None = None  # comma-separated items confirmed
    duplicate_of: str | None = None
    source: str = "cli"


@dataclass(frozen=True)
class BreachFact:
    lead_key: int
    owner: str
    due_at: dt.datetime
    at: dt.datetime
    action: str  # reassign, escalate, recycle


Fact = TransitionFact | AssignmentFact | DecisionFact | BreachFact


@dataclass(frozen=True)
class LeadState:
    """Where a lead stands now, as its facts say."""

    lead_key: int
    stage: Stage = Stage.INQUIRY
    since: dt.datetime | None = None
    version: int = 0  # counts the facts folded in: a decision names the version it saw
    episode: int = 0  # how many times the lead has qualified (re-qualification makes 2, 3...)
    owner: str | None = None
    team: str | None = None
    queue: str | None = None
    assigned_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    breaches: int = 0  # SLA breaches since the lead last qualified (each one moved it on)
    cool_off_until: dt.datetime | None = None
    engagement_since: dt.datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.stage not in CLOSED_STAGES


_RELEASING = (Stage.RECYCLED, Stage.DISQUALIFIED, Stage.REJECTED, Stage.WON, Stage.LOST)


def apply(state: LeadState, fact: Fact) -> LeadState:
    """The state after one more fact."""
    version = state.version + 1
    if isinstance(fact, TransitionFact):
        changed = replace(state, stage=fact.target, since=fact.at, version=version)
        if fact.target in (Stage.MQL, Stage.PQL):
            changed = replace(changed, episode=state.episode + 1, cool_off_until=None, breaches=0)
        if fact.target in _RELEASING:
            changed = replace(changed, owner=None, team=None, queue=None, assigned_at=None, due_at=None)
        if fact.target == Stage.SAL:
            changed = replace(changed, due_at=None)
        if fact.target == Stage.RECYCLED:
            changed = replace(
                changed,
                cool_off_until=fact.cool_off_until,
                engagement_since=fact.at if fact.reset_engagement else state.engagement_since,
            )
        return changed
    if isinstance(fact, AssignmentFact):
        return replace(
            state,
            version=version,
            owner=fact.owner,
            team=fact.team,
            queue=fact.queue,
            assigned_at=fact.at,
            due_at=fact.due_at,
        )
    if isinstance(fact, BreachFact):
        return replace(state, version=version, breaches=state.breaches + 1)
    return replace(state, version=version)


def fold(lead_key: int, facts: Iterable[Fact]) -> LeadState:
    """A lead's state from its facts, in the order they were recorded."""
    state = LeadState(lead_key)
    for fact in facts:
        state = apply(state, fact)
    return state
