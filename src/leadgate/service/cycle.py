"""The qualification cycle: score, move, route, check SLAs. Idempotent.

``leadgate cycle`` (and, later, the server's worker) runs :func:`run_cycle`:

1. score the leads touched since the last run (incrementally);
2. for every lead awaiting acceptance past its deadline, record the breach and do what the
   playbook says (reassign, escalate to the manager, or recycle);
3. move every lead whose playbook condition holds: inquiry or recycled (after its cool-off)
   to MQL or PQL, accepted (SAL) to SQL; a lead about to move whose stored scores are older
   than this moment is rescored first, so no move rests on a window that has closed since;
4. route every MQL and PQL without an owner, and start its SLA clock.

Each step reads the current states and adds only what is missing, and no step undoes what a
later one needs, so a second run at the same moment adds nothing. A cycle never goes back in
time: one as of a moment before the latest hand-off fact is refused. Every move is a fact
with its cause and the score at that moment.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import ibis

from leadgate.domain.stages import Stage
from leadgate.errors import UserError
from leadgate.lifecycle.facts import (
    SYSTEM_ACTOR,
    AssignmentFact,
    BreachFact,
    Fact,
    LeadState,
    TransitionFact,
    checked_move,
)
from leadgate.lifecycle.machine import Cause, Transition, transitions_of
from leadgate.lifecycle.qualify import rule_transition
from leadgate.playbook.compiled import Playbook
from leadgate.routing.assign import Assignment, RoutingState, manager_queue, route
from leadgate.routing.sla import deadline, local_day
from leadgate.scoring.engine import ACCOUNT_PREFIX, routing_column
from leadgate.service.moments import moment_of, scores_with_state
from leadgate.service.scoring import ScoringRun, run_scoring, utc_now
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore, state_from


@dataclass(frozen=True)
class CycleReport:
    as_of: dt.datetime
    scoring: ScoringRun
    qualified: int  # leads that became MQL or PQL (re-qualifications included)
    requalified: int
    sql: int
    assigned: int
    to_manager_queue: int
    breaches: int
    # Where the time went: scoring, moving, routing, sla (each with its writes), and writing
    # alone (appending facts and lead states, within the three before it).
    seconds: dict[str, float] = field(default_factory=dict)


Result = TypeVar("Result")


def _timed(seconds: dict[str, float], step: str, action: Callable[[], Result]) -> Result:
    started = time.perf_counter()
    try:
        return action()
    finally:
        seconds[step] = time.perf_counter() - started


def run_cycle(store: Store, playbook: Playbook, as_of: dt.datetime | None = None, full: bool = False) -> CycleReport:
    """One qualification cycle as of ``as_of`` (default: now).

    Scoring is incremental unless ``full``: a full rescoring also catches what time alone
    changes (decay, windows that close), and is what a replay of history needs. One cycle
    at a time per database (server processes and commands share a PostgreSQL store).
    """
    with store.exclusive("cycle"):
        return _cycle(store, playbook, as_of or utc_now(), full)


def _cycle(store: Store, playbook: Playbook, as_of: dt.datetime, full: bool) -> CycleReport:
    lifecycle = LifecycleStore(store)
    latest = lifecycle.latest_fact_at()
    if latest is not None and as_of < latest:
        raise UserError(
            f"--as-of {as_of:%Y-%m-%d %H:%M} is before the latest hand-off fact ({latest:%Y-%m-%d %H:%M} UTC): "
            "a cycle cannot record moves in the past of what is already recorded"
        )
    seconds: dict[str, float] = {}
    scoring = _timed(seconds, "scoring", lambda: run_scoring(store, playbook, as_of, incremental=not full))
    breaches = _timed(seconds, "sla", lambda: check_slas(store, lifecycle, playbook, as_of))
    moved = _timed(seconds, "moving", lambda: _move_by_rules(store, lifecycle, playbook, as_of))
    assignments = _timed(seconds, "routing", lambda: _route_unassigned(store, lifecycle, playbook, as_of))
    seconds["writing"] = lifecycle.write_seconds
    qualified = [fact for fact in moved if fact.target in (Stage.MQL, Stage.PQL)]
    return CycleReport(
        as_of=as_of,
        scoring=scoring,
        qualified=len(qualified),
        requalified=sum(1 for fact in qualified if fact.source == Stage.RECYCLED),
        sql=sum(1 for fact in moved if fact.target == Stage.SQL),
        assigned=sum(1 for fact in assignments if fact.queue == "rep"),
        to_manager_queue=sum(1 for fact in assignments if fact.queue == "manager"),
        breaches=breaches,
        seconds=seconds,
    )


def _scored_rows(store: Store, playbook: Playbook, purpose: str, condition: Any) -> list[dict[str, Any]]:
    """Scored leads with their lifecycle state, those for which ``condition`` holds.

    The condition depends on the playbook alone, so its SQL is compiled once per playbook
    and ``purpose`` and kept on the connection (a cycle runs every second in the server).
    """

    def compile_query() -> str:
        joined = scores_with_state(store)
        return store.sql(joined.filter(condition(joined)))

    return store.query_rows(store.kept(("scored_rows", purpose, playbook.digest, playbook.version), compile_query))


def _flags(playbook: Playbook) -> list[str]:
    return [f"q_{name}" for name in playbook.stage_conditions()]


def _may_move(table: Any, flags: list[str]) -> Any:
    """The scored rows (joined with ``lead_state``) whose flags call for a move by rule (recycled
    leads still cooling off included: see :func:`_cooled_off`)."""
    stage = table.stage.fill_null("inquiry")
    any_flag = ibis.literal(False)
    for flag in flags:
        any_flag = any_flag | table[flag]
    ready = stage.isin(["inquiry", "recycled"])
    wants_sql = (stage == "sal") & table["q_sql"] if "q_sql" in flags else ibis.literal(False)
    return (ready & any_flag) | wants_sql


def _wants_to_move(store: Store, playbook: Playbook, as_of: dt.datetime) -> list[dict[str, Any]]:
    """The scored rows whose flags call for a move by rule now."""
    flags = _flags(playbook)
    rows = _scored_rows(store, playbook, "moves", lambda table: _may_move(table, flags))
    return [row for row in rows if _cooled_off(row, as_of)]


def _cooled_off(row: dict[str, Any], as_of: dt.datetime) -> bool:
    """Whether a lead is past any cool-off (only recycled leads have one)."""
    return row["stage"] != "recycled" or row["cool_off_until"] is None or row["cool_off_until"] <= as_of


def _move_by_rules(
    store: Store, lifecycle: LifecycleStore, playbook: Playbook, as_of: dt.datetime
) -> list[TransitionFact]:
    flags = _flags(playbook)
    facts: list[Fact] = []
    expected: dict[int, int] = {}
    table = transitions_of(playbook.model)
    rows = _wants_to_move(store, playbook, as_of)
    stale = [int(row["lead_key"]) for row in rows if row["as_of"] < as_of]
    if stale:  # stored flags older than this moment: a window may have closed since, so rescore first
        run_scoring(store, playbook, as_of, incremental=True, also=stale)
        rows = _wants_to_move(store, playbook, as_of)
    for row in rows:
        state = state_from(row)
        names = {flag[2:]: bool(row[flag]) for flag in flags}
        fact = rule_transition(table, state, names, playbook.model, playbook.version, as_of, moment_of(row, playbook))
        if fact is not None:
            facts.append(fact)
            expected[state.lead_key] = state.version
    lifecycle.record(facts, expected)
    return [fact for fact in facts if isinstance(fact, TransitionFact)]


def _route_unassigned(
    store: Store, lifecycle: LifecycleStore, playbook: Playbook, as_of: dt.datetime
) -> list[AssignmentFact]:
    if not playbook.model.routing:
        return []
    rows = _scored_rows(
        store, playbook, "routing", lambda table: table.stage.isin(["mql", "pql"]) & table.owner.isnull()
    )
    if not rows:  # most cycles of a busy server: the four queries of the routing state are not needed
        return []
    state = routing_state(lifecycle)
    rep_due = deadline(playbook.model, as_of)  # the same for every lead routed now (and costly in business time)
    table = transitions_of(playbook.model)
    facts: list[Fact] = []
    assignments: list[AssignmentFact] = []
    expected: dict[int, int] = {}
    for row in sorted(rows, key=lambda row: (-(row["score"] or 0), row["lead_key"])):
        lead = state_from(row)
        assignment = _route(playbook, row, state, as_of)
        state = state.after(assignment)
        assigned = _assignment_fact(lead, assignment, playbook, as_of, "routing", rep_due)
        facts += [assigned, _routing_move(table, lead, assigned, assignment, playbook, as_of, row)]
        assignments.append(assigned)
        expected[lead.lead_key] = lead.version
    lifecycle.record(facts, expected)
    return assignments


def routing_state(lifecycle: LifecycleStore) -> RoutingState:
    """Loads, rotations and absences as the facts say now."""
    return RoutingState(
        open_leads=lifecycle.open_leads_by_owner(),
        last_assigned=lifecycle.last_assigned_by_team("round_robin"),
        assigned_counts=lifecycle.assigned_counts_by_team("weighted"),
        absences=lifecycle.absences(),
    )


def _route(playbook: Playbook, row: dict[str, Any], state: RoutingState, as_of: dt.datetime) -> Assignment:
    """Route one scored lead: the routing flags of its row say which rules' conditions hold."""
    flags = [
        bool(row.get(routing_column(index))) if rule.when is not None else True
        for index, rule in enumerate(playbook.model.routing)
    ]
    return route(playbook.model, flags, row.get(f"{ACCOUNT_PREFIX}owner"), state, local_day(playbook.model, as_of))


def _assignment_fact(
    lead: LeadState,
    assignment: Assignment,
    playbook: Playbook,
    as_of: dt.datetime,
    cause: str,
    rep_due: dt.datetime | None,
) -> AssignmentFact:
    """The assignment; ``rep_due`` is the SLA deadline of a lead assigned to a rep now (see
    :func:`~leadgate.routing.sla.deadline`)."""
    queue = "manager" if assignment.method == "manager_queue" else "rep"
    return AssignmentFact(
        lead_key=lead.lead_key,
        owner=assignment.owner,
        team=assignment.team,
        queue=queue,
        rule=assignment.rule,
        method=assignment.method,
        reason=assignment.reason,
        at=as_of,
        due_at=rep_due if playbook.model.stages.sal.enabled and queue == "rep" else None,
        cause=cause,
    )


def _routing_move(
    table: tuple[Transition, ...],
    lead: LeadState,
    assigned: AssignmentFact,
    assignment: Assignment,
    playbook: Playbook,
    as_of: dt.datetime,
    row: dict[str, Any],
) -> TransitionFact:
    """The move of a newly routed lead to its owner's queue (awaiting acceptance, or accepted
    when SAL is not used)."""
    target = Stage.SAL_PENDING if playbook.model.stages.sal.enabled else Stage.SAL
    where = f"{assigned.owner}'s queue" if assigned.queue == "rep" else f"the manager's queue ({assigned.owner})"
    detail = f"routed to {where} by “{assignment.rule}” ({assignment.reason})"
    moment = moment_of(row, playbook)
    return checked_move(table, lead, target, Cause.ROUTING, detail, SYSTEM_ACTOR, as_of, playbook.version, moment)


def check_slas(store: Store, lifecycle: LifecycleStore, playbook: Playbook, as_of: dt.datetime) -> int:
    """Step 4 alone: record a breach for every lead awaiting acceptance past its deadline, and
    act on it; the number of breaches. Cheap (no scoring), so it can run between cycles."""
    if not lifecycle.any_overdue(as_of):
        return 0
    pending = _scored_rows(
        store, playbook, "awaiting", lambda table: (table.stage == "sal_pending") & table.due_at.notnull()
    )
    late = [row for row in pending if row["due_at"] <= as_of]  # every breach's action moves the deadline on
    if not late:
        return 0
    action = playbook.model.stages.sal.on_sla_breach
    table = transitions_of(playbook.model)
    state = routing_state(lifecycle)
    rep_due = deadline(playbook.model, as_of)  # for a lead given to another rep now
    facts: list[Fact] = []
    expected: dict[int, int] = {}
    for row in sorted(late, key=lambda row: row["lead_key"]):
        lead = state_from(row)
        owner = lead.owner or ""
        facts.append(BreachFact(lead.lead_key, owner, lead.due_at or as_of, as_of, action))
        expected[lead.lead_key] = lead.version
        if action == "recycle":
            facts.append(_sla_recycle(lead, playbook, as_of, row, table))
            continue
        if action == "reassign":
            without_owner = RoutingState(
                state.open_leads, state.last_assigned, state.assigned_counts, state.absences, frozenset({owner})
            )
            assignment = _route(playbook, row, without_owner, as_of)
        else:
            assignment = _escalation(playbook, lead, owner)
        state = state.after(assignment, taken_from=owner)
        facts.append(_assignment_fact(lead, assignment, playbook, as_of, f"sla_{action}", rep_due))
    lifecycle.record(facts, expected)
    return len(late)


def _escalation(playbook: Playbook, lead: LeadState, owner: str) -> Assignment:
    teams = playbook.model.teams
    team = lead.team if lead.team in teams else next((name for name, t in teams.items() if owner in t.members), None)
    return manager_queue(playbook.model, team, -1, "SLA escalation", f"{owner} did not decide in time")


def _sla_recycle(
    lead: LeadState, playbook: Playbook, as_of: dt.datetime, row: dict[str, Any], table: tuple[Transition, ...]
) -> TransitionFact:
    return checked_move(
        table,
        lead,
        Stage.RECYCLED,
        Cause.SLA,
        f"nobody decided by {lead.due_at:%Y-%m-%d %H:%M} UTC: back to nurture",
        SYSTEM_ACTOR,
        as_of,
        playbook.version,
        moment_of(row, playbook),
        cool_off_until=as_of,
        reset_engagement=playbook.model.stages.recycle.reset_engagement,
    )
