"""Sales decisions: what a salesperson may decide on a lead, and the facts it makes. Pure.

:func:`decide` checks a decision against the lead's current state and the playbook (the
stage it must be in, who may make it, the reason codes, the checklist) and returns the facts
to record: the decision itself and the transitions it causes (a rejection also carries its
reason's consequence). A decision made on a stale view of the lead is a :class:`Conflict`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from leadgate.domain.stages import Stage
from leadgate.errors import UserError
from leadgate.lifecycle.facts import DecisionFact, Fact, LeadState, Moment, TransitionFact, checked_move
from leadgate.lifecycle.machine import Cause, Transition
from leadgate.playbook.model import PlaybookModel
from leadgate.routing.assign import Absence
from leadgate.routing.sla import local_day

DECISION_KINDS = ("accept", "reject", "qualify", "disqualify", "opportunity", "won", "lost")
OUTCOME_KINDS = ("opportunity", "won", "lost")
IMPORT_ACTOR = "crm-import"


class DecisionRefused(UserError):
    """A decision that cannot be taken: wrong stage, unknown reason or rep, missing checklist."""


class Conflict(UserError):
    """The lead changed since the decision-maker looked at it, or someone else acted first."""


@dataclass(frozen=True)
class Decision:
    kind: str
    lead_id: str
    actor: str
    at: dt.datetime
    reason: str | None = None
    note: str | None = None
    checklist: tuple[str, ...] = ()
    duplicate_of: str | None = None
    expected_version: int | None = None  # the version the decision-maker saw (None: whatever is current)
    source: str = "cli"


@dataclass(frozen=True)
class Context:
    """What a decision is checked against besides the lead's state."""

    playbook: PlaybookModel
    playbook_version: int
    table: tuple[Transition, ...]
    absences: Sequence[Absence] = ()
    moment: Moment = field(default_factory=Moment)


def known_reps(playbook: PlaybookModel) -> dict[str, set[str]]:
    """Every rep and manager named by the teams, with the teams they belong to or manage."""
    reps: dict[str, set[str]] = {}
    for name, team in playbook.teams.items():
        for person in [*team.members, team.manager]:
            reps.setdefault(person, set()).add(name)
    return reps


def require_rep(playbook: PlaybookModel, name: str, also: Collection[str] = ()) -> None:
    """Refuse a name that is no rep or manager of the playbook's teams, nor one of ``also``
    (the owner of the lead at hand: an account owner need not be in a team)."""
    if name in also:
        return
    reps = known_reps(playbook)
    if name not in reps:
        known = ", ".join(sorted(reps)) or "none: the playbook has no teams"
        raise DecisionRefused(f"{name!r} is not a rep of the playbook's teams (reps: {known})")


def decide(state: LeadState, decision: Decision, context: Context) -> list[Fact]:
    """The facts a decision records, or an error saying why it cannot be taken."""
    if decision.kind not in DECISION_KINDS:
        raise DecisionRefused(f"unknown decision {decision.kind!r}; decisions are {', '.join(DECISION_KINDS)}")
    if decision.expected_version is not None and decision.expected_version != state.version:
        raise Conflict(
            f"lead {decision.lead_id} changed since you looked at it (version {decision.expected_version}, "
            f"now {state.version}): it is {state.stage}{_owned(state)}; look again before deciding"
        )
    _check_actor(state, decision, context)
    last_move = max((moment for moment in (state.since, state.assigned_at) if moment is not None), default=None)
    if last_move is not None and decision.at < last_move:
        raise DecisionRefused(
            f"the decision's time {decision.at:%Y-%m-%d %H:%M} is before the lead's last move "
            f"({last_move:%Y-%m-%d %H:%M} UTC): a decision cannot precede what it decides on"
        )
    record = DecisionFact(
        lead_key=state.lead_key,
        kind=decision.kind,
        actor=decision.actor,
        at=decision.at,
        reason=decision.reason,
        note=decision.note,
        checklist=",".join(decision.checklist) or None,
        duplicate_of=decision.duplicate_of,
        source=decision.source,
    )
    return [record, *_transitions(state, decision, context)]


def _owned(state: LeadState) -> str:
    return f" (owner: {state.owner})" if state.owner else ""


def _check_actor(state: LeadState, decision: Decision, context: Context) -> None:
    if decision.actor == IMPORT_ACTOR and decision.kind in OUTCOME_KINDS:
        return
    reps = known_reps(context.playbook)
    require_rep(context.playbook, decision.actor, also=[state.owner] if state.owner else [])
    day = local_day(context.playbook, decision.at)
    away = [absence for absence in context.absences if absence.rep == decision.actor and absence.covers(day)]
    if away:
        raise DecisionRefused(f"{decision.actor} is marked absent until {away[0].end}; ask their manager to act")
    if decision.kind in ("accept", "reject") and state.owner is not None:
        managers = {context.playbook.teams[team].manager for team in reps.get(state.owner, set())}
        if decision.actor != state.owner and decision.actor not in managers:
            raise DecisionRefused(
                f"lead {decision.lead_id} is assigned to {state.owner}; only they or their manager can "
                f"{decision.kind} it"
            )


def _move(
    state: LeadState,
    target: Stage,
    cause: Cause,
    detail: str,
    decision: Decision,
    context: Context,
    cool_off_until: dt.datetime | None = None,
    reset_engagement: bool = False,
) -> TransitionFact:
    return checked_move(
        context.table,
        state,
        target,
        cause,
        detail,
        decision.actor,
        decision.at,
        context.playbook_version,
        context.moment,
        cool_off_until=cool_off_until,
        reset_engagement=reset_engagement,
    )


def _require_stage(state: LeadState, decision: Decision, *stages: Stage) -> None:
    if state.stage not in stages:
        wanted = " or ".join(str(stage) for stage in stages)
        raise DecisionRefused(
            f"cannot record {_ACTIONS.get(decision.kind, decision.kind)} for lead {decision.lead_id}: "
            f"it is {state.stage}{_owned(state)}, not {wanted}"
        )


_ACTIONS = {
    "accept": "an acceptance",
    "reject": "a rejection",
    "qualify": "a qualification",
    "disqualify": "a disqualification",
    "opportunity": "an opportunity",
    "won": "a won deal",
    "lost": "a lost deal",
}


def _transitions(state: LeadState, decision: Decision, context: Context) -> list[TransitionFact]:
    stages = context.playbook.stages
    kind = decision.kind
    if kind == "accept":
        _require_stage(state, decision, Stage.SAL_PENDING)
        return [_move(state, Stage.SAL, Cause.DECISION, f"accepted by {decision.actor}", decision, context)]
    if kind == "reject":
        _require_stage(state, decision, Stage.SAL_PENDING)
        return _reject(state, decision, context)
    if kind == "qualify":
        _require_stage(state, decision, Stage.SAL)
        unknown = [item for item in decision.checklist if item not in stages.sql.checklist]
        if unknown:
            raise DecisionRefused(
                f"{', '.join(repr(item) for item in unknown)} not on the playbook's checklist "
                f"({', '.join(stages.sql.checklist)})"
            )
        missing = [item for item in stages.sql.checklist if item not in decision.checklist]
        if missing:
            raise DecisionRefused(
                f"to qualify, confirm the whole checklist ({', '.join(stages.sql.checklist)}); missing: {', '.join(missing)}"
            )
        detail = f"qualified by {decision.actor}: {', '.join(stages.sql.checklist)} confirmed"
        return [_move(state, Stage.SQL, Cause.DECISION, detail, decision, context)]
    if kind == "disqualify":
        if not state.is_open:
            raise DecisionRefused(f"lead {decision.lead_id} is already {state.stage}")
        if decision.reason not in stages.disqualify_reasons:
            raise DecisionRefused(
                f"disqualify needs a reason among {', '.join(stages.disqualify_reasons)}; got {decision.reason!r}"
            )
        detail = f"disqualified by {decision.actor}: {decision.reason}"  # the note stays with the decision
        return [_move(state, Stage.DISQUALIFIED, Cause.DECISION, detail, decision, context)]
    target = {"opportunity": Stage.OPPORTUNITY, "won": Stage.WON, "lost": Stage.LOST}[kind]
    allowed = (Stage.SQL,) if kind == "opportunity" else (Stage.SQL, Stage.OPPORTUNITY)
    _require_stage(state, decision, *allowed)
    cause = Cause.OUTCOME if decision.actor == IMPORT_ACTOR else Cause.DECISION
    return [_move(state, target, cause, f"{kind} ({decision.actor})", decision, context)]


def _reject(state: LeadState, decision: Decision, context: Context) -> list[TransitionFact]:
    stages = context.playbook.stages
    reasons = stages.sal.reject_reasons
    reason = reasons.get(decision.reason or "")
    if reason is None:
        raise DecisionRefused(f"reject needs a reason among {', '.join(reasons)}; got {decision.reason!r}")
    if reason.then != "merge" and decision.duplicate_of:
        raise DecisionRefused(f"--duplicate-of goes with a reason that merges; {decision.reason} does not")
    if reason.then == "merge" and not decision.duplicate_of:
        raise DecisionRefused(f"reason {decision.reason} merges the lead: say which lead it duplicates")
    if reason.then == "merge" and decision.duplicate_of == decision.lead_id:
        raise DecisionRefused("a lead cannot be a duplicate of itself")
    label = reason.label or decision.reason
    rejected = _move(state, Stage.REJECTED, Cause.DECISION, f"rejected by {decision.actor}: {label}", decision, context)
    after = LeadState(state.lead_key, stage=Stage.REJECTED)
    if reason.then == "recycle":
        cool_off = dt.timedelta(days=reason.cool_off_days or 0)
        consequence = _move(
            after,
            Stage.RECYCLED,
            Cause.CONSEQUENCE,
            f"{decision.reason}: back to nurture, may qualify again after {reason.cool_off_days} days",
            decision,
            context,
            cool_off_until=decision.at + cool_off,
            reset_engagement=stages.recycle.reset_engagement,
        )
    else:
        what = f"duplicate of {decision.duplicate_of}" if reason.then == "merge" else "disqualified"
        consequence = _move(
            after, Stage.DISQUALIFIED, Cause.CONSEQUENCE, f"{decision.reason}: {what}", decision, context
        )
    return [rejected, consequence]
