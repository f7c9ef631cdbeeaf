"""Applying sales decisions: check, record, and answer with the lead's new state.

One path for every decision, whoever makes it (the CLI, the simulator, later the API and the
web app, a CRM export of outcomes): :func:`apply_decision` reads the lead's state, lets the
pure :func:`~leadgate.lifecycle.decisions.decide` check it and make the facts, and records
them only if the lead has not changed meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leadgate.errors import InputError, Issue, NotFound, UserError
from leadgate.ingest.outcomes import OutcomeRow
from leadgate.lifecycle.decisions import IMPORT_ACTOR, Context, Decision, DecisionRefused, decide
from leadgate.lifecycle.facts import DecisionFact, Fact, LeadState, apply
from leadgate.lifecycle.machine import transitions_of
from leadgate.playbook.compiled import Playbook
from leadgate.service.moments import moment_of, score_row
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore


def lead_key_of(store: Store, lead_id: str) -> int:
    """The key of a lead id, or :class:`NotFound`."""
    lead_key = store.lead_key_of(lead_id)
    if lead_key is None:
        raise NotFound(f"no lead with the id {lead_id!r}", listed_by="leadgate leads")
    return lead_key


def context_for(store: Store, playbook: Playbook, lead_key: int) -> Context:
    """What a decision on this lead is checked against, with the lead's latest score."""
    model = playbook.model
    return Context(
        playbook=model,
        playbook_version=playbook.version,
        table=transitions_of(model),
        absences=LifecycleStore(store).absences(),
        moment=moment_of(score_row(store, lead_key), playbook),
    )


def apply_decision(store: Store, playbook: Playbook, decision: Decision) -> LeadState:
    """Check and record one decision; the lead's new state."""
    if decision.actor == IMPORT_ACTOR:
        raise DecisionRefused(f"{IMPORT_ACTOR!r} is the name of CRM imports; decide as a rep of the playbook's teams")
    lead_key = lead_key_of(store, decision.lead_id)
    if decision.duplicate_of is not None:
        lead_key_of(store, decision.duplicate_of)
    lifecycle = LifecycleStore(store)
    state = lifecycle.state(lead_key)
    facts = decide(state, decision, context_for(store, playbook, lead_key))
    return lifecycle.record(facts, {lead_key: state.version})[lead_key]


@dataclass(frozen=True)
class OutcomesApplied:
    recorded: int
    already_recorded: int  # rows the store already had (an export imported again changes nothing)


def apply_outcomes(store: Store, playbook: Playbook, rows: Sequence[OutcomeRow], source: str) -> OutcomesApplied:
    """Record CRM outcomes (opportunity, won, lost) all or nothing; every bad row is reported.

    A row already recorded (same lead, outcome and moment) is skipped, so importing the same
    export twice changes nothing. Each outcome records the lead's score at that moment.
    """
    lifecycle = LifecycleStore(store)
    facts: list[Fact] = []
    expected: dict[int, int] = {}
    states: dict[int, LeadState] = {}
    issues: list[Issue] = []
    already = 0
    for row in sorted(rows, key=lambda item: (item.at, item.line)):
        try:
            lead_key = lead_key_of(store, row.lead_id)
            if _already_recorded(lifecycle, lead_key, row):
                already += 1
                continue
            state = states.get(lead_key) or lifecycle.state(lead_key)
            expected.setdefault(lead_key, state.version)
            decision = Decision(row.outcome, row.lead_id, IMPORT_ACTOR, row.at, source="import")
            made = decide(state, decision, context_for(store, playbook, lead_key))
        except UserError as problem:
            issues.append(Issue(source, row.line, 0, "IM008", str(problem)))
            continue
        for fact in made:
            state = apply(state, fact)
        states[lead_key] = state
        facts += made
    if issues:
        plural = "s" if len(issues) != 1 else ""
        raise InputError(f"{source}: {len(issues)} outcome{plural} cannot be applied; nothing was imported", issues)
    lifecycle.record(facts, expected)
    return OutcomesApplied(sum(1 for fact in facts if isinstance(fact, DecisionFact)), already)


def _already_recorded(lifecycle: LifecycleStore, lead_key: int, row: OutcomeRow) -> bool:
    return any(
        isinstance(fact, DecisionFact) and fact.kind == row.outcome and fact.at == row.at
        for fact in lifecycle.facts_of(lead_key)
    )
