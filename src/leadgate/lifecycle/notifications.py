"""What the playbook's ``notify:`` rules make of the hand-off's facts: one notice per rule that fires.

A rule fires on a fact: ``stage becomes STAGE`` on a transition to that stage, ``assigned``
on an assignment, ``sla breached`` on an SLA breach. The notice carries what a CRM or a rep
needs to act (the lead, its stage, owner, team, score, the fact and the playbook version).

Owner and team are the lead's once the facts recorded at the same moment are applied: a lead
that becomes MQL is routed in the same cycle, so ``stage becomes mql`` names the rep it was
routed to. An assignment names its own owner; a breach names the rep who missed the deadline;
a move that releases the lead (recycled, rejected, won, ...) names the rep who had it.

Pure: the facts, the rules and the cut-off time come in, notices come out. The store keeps
them in the outbox (:mod:`leadgate.store.outbox_store`) and the service delivers them
(:mod:`leadgate.service.outbox`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from leadgate.lifecycle.facts import AssignmentFact, BreachFact, Fact, LeadState, TransitionFact, apply
from leadgate.playbook.model import PlaybookModel
from leadgate.playbook.model_handoff import Notification, Trigger

EVENT_OF_TRIGGER = {"stage": "stage_changed", "assigned": "assigned", "sla_breached": "sla_breached"}


@dataclass(frozen=True)
class RecordedFact:
    """A lifecycle fact with its place in the global order."""

    seq: int
    fact_id: str
    fact: Fact


@dataclass(frozen=True)
class Notice:
    """One notification to send: where to, and what about.

    ``destination`` is the webhook's URL, or the e-mail's recipient: a rep's name (owner or
    manager, addressed with the ``rep_email_domain`` setting when sent) or an address.
    """

    notification_id: str
    seq: int
    rule: int  # the rule's place in the playbook's notify list, from 1
    lead_key: int
    lead_id: str
    event: str  # stage_changed, assigned or sla_breached
    trigger: str  # the rule's "on:", e.g. "stage becomes sal_pending"
    channel: str  # webhook or email
    destination: str
    stage: str
    previous_stage: str | None
    owner: str | None
    team: str | None
    score: float | None
    at: dt.datetime
    due_at: dt.datetime | None
    fact_id: str
    playbook_version: int


@dataclass(frozen=True)
class _Context:
    stage: str
    previous_stage: str | None
    owner: str | None
    team: str | None
    score: float | None
    due_at: dt.datetime | None


def trigger_of(fact: Fact) -> Trigger | None:
    """The trigger a fact can fire (decisions fire none: the moves they cause do)."""
    if isinstance(fact, TransitionFact):
        return Trigger("stage", fact.target.value)
    if isinstance(fact, AssignmentFact):
        return Trigger("assigned")
    if isinstance(fact, BreachFact):
        return Trigger("sla_breached")
    return None


def notices_of(
    histories: Mapping[int, Sequence[RecordedFact]],
    lead_ids: Mapping[int, str],
    since_seq: int,
    model: PlaybookModel,
    not_before: dt.datetime | None = None,
) -> list[Notice]:
    """The notices of the facts after ``since_seq``, in fact order then rule order.

    ``histories`` holds every lead's facts in order, the earlier ones too (they say who owned
    the lead before). Facts before ``not_before`` are too old to notify about (a replayed or
    back-dated history sends nothing).
    """
    notices: list[Notice] = []
    for lead_key, facts in histories.items():
        states = _states_after(lead_key, facts)
        for index, recorded in enumerate(facts):
            if recorded.seq <= since_seq or (not_before is not None and recorded.fact.at < not_before):
                continue
            trigger = trigger_of(recorded.fact)
            rules = [(number, rule) for number, rule in enumerate(model.notify, 1) if rule.on == trigger]
            if not rules:
                continue
            context = _context(lead_key, facts, states, index)
            for number, rule in rules:
                notice = _notice(recorded, number, rule, context, lead_ids.get(lead_key, ""), model)
                if notice is not None:
                    notices.append(notice)
    return sorted(notices, key=lambda notice: (notice.seq, notice.rule))


def _states_after(lead_key: int, facts: Sequence[RecordedFact]) -> list[LeadState]:
    """The lead's state after each of its facts (the one fold of :mod:`leadgate.lifecycle.facts`)."""
    states = []
    state = LeadState(lead_key)
    for recorded in facts:
        state = apply(state, recorded.fact)
        states.append(state)
    return states


def _context(lead_key: int, facts: Sequence[RecordedFact], states: Sequence[LeadState], index: int) -> _Context:
    """Stage, owner, team, score and deadline of the lead as a notice about ``facts[index]`` tells them.

    A *moment* is the run of the lead's facts recorded at the same time (a cycle's move and
    routing, a rejection and its consequence): the lead before it says who had the lead, the
    lead after it who has it now.
    """
    fact = facts[index].fact
    start, end = index, index
    while start > 0 and facts[start - 1].fact.at == fact.at:
        start -= 1
    while end + 1 < len(facts) and facts[end + 1].fact.at == fact.at:
        end += 1
    before = states[start - 1] if start else LeadState(lead_key)
    after = states[end]
    owner, team = (after.owner, after.team) if after.owner else (before.owner, before.team)
    score = next(
        (item.fact.score for item in reversed(facts[: end + 1]) if isinstance(item.fact, TransitionFact)), None
    )
    if isinstance(fact, TransitionFact):
        return _Context(fact.target.value, fact.source.value, owner, team, fact.score, after.due_at)
    if isinstance(fact, AssignmentFact):
        return _Context(after.stage.value, None, fact.owner, fact.team, score, fact.due_at)
    if isinstance(fact, BreachFact):
        return _Context(after.stage.value, None, fact.owner or before.owner, before.team, score, fact.due_at)
    return _Context(after.stage.value, None, owner, team, score, after.due_at)


def _notice(
    recorded: RecordedFact, number: int, rule: Notification, context: _Context, lead_id: str, model: PlaybookModel
) -> Notice | None:
    destination = rule.url if rule.send == "webhook" else _recipient(rule.to or "", context, model)
    if not destination:
        return None  # an e-mail to the owner (or the manager) of a lead that has none: nobody to tell
    return Notice(
        notification_id=f"{recorded.fact_id}-{number}",
        seq=recorded.seq,
        rule=number,
        lead_key=recorded.fact.lead_key,
        lead_id=lead_id,
        event=EVENT_OF_TRIGGER[rule.on.kind],
        trigger=str(rule.on),
        channel=rule.send,
        destination=destination,
        stage=context.stage,
        previous_stage=context.previous_stage,
        owner=context.owner,
        team=context.team,
        score=context.score,
        at=recorded.fact.at,
        due_at=context.due_at,
        fact_id=recorded.fact_id,
        playbook_version=model.version,
    )


def _recipient(to: str, context: _Context, model: PlaybookModel) -> str | None:
    """``owner``, ``manager`` (of the lead's team) or an address (or a rep's name) as written."""
    if to == "owner":
        return context.owner
    if to == "manager":
        team = model.teams.get(context.team or "")
        if team is not None:
            return team.manager
        return next((found.manager for found in model.teams.values() if context.owner in found.members), None)
    return to


def payload_of(notice: Notice) -> dict[str, Any]:
    """The JSON body of a webhook (and the facts an e-mail tells)."""
    return {
        "id": notice.notification_id,
        "event": notice.event,
        "trigger": notice.trigger,
        "lead_id": notice.lead_id,
        "stage": notice.stage,
        "previous_stage": notice.previous_stage,
        "owner": notice.owner,
        "team": notice.team,
        "score": notice.score,
        "at": _iso(notice.at),
        "due_at": _iso(notice.due_at),
        "fact_id": notice.fact_id,
        "playbook_version": notice.playbook_version,
    }


def email_of(notice: Notice) -> tuple[str, str]:
    """An e-mail's subject and plain-text body."""
    lead = notice.lead_id
    if notice.event == "assigned":
        subject = f"[leadgate] Lead {lead} assigned to {notice.owner}"
    elif notice.event == "sla_breached":
        subject = f"[leadgate] SLA breached: {notice.owner or 'nobody'} did not decide on lead {lead} in time"
    else:
        subject = f"[leadgate] Lead {lead} is now {notice.stage}"
    lines = [
        f"Lead: {lead}",
        f"Stage: {notice.stage}" + (f" (was {notice.previous_stage})" if notice.previous_stage else ""),
        f"Owner: {notice.owner or '-'} (team {notice.team or '-'})",
        f"Score: {'-' if notice.score is None else round(notice.score, 1)}",
        f"When: {_iso(notice.at)}",
    ]
    if notice.due_at is not None:
        lines.append(f"Decide by: {_iso(notice.due_at)}")
    lines += ["", f"Sent by leadgate for '{notice.trigger}' (notification {notice.notification_id})."]
    return subject, "\n".join(lines) + "\n"


def retry_delay(attempts: int, base_seconds: float, cap_seconds: float) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed attempt: the base, doubling each time, capped."""
    return dt.timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), cap_seconds))


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
