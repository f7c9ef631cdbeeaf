"""The sales side of a simulation, played through the real decision path.

Once a history's facts are stored, :func:`play_sales` replays its window as the product would
live it: a qualification cycle when each working day opens (scoring, rule moves, routing, SLA
checks: :func:`~leadgate.service.cycle.run_cycle`), the SLA checked again at each deadline
that falls between two mornings, and the reps' decisions at the moments they make them, each
one checked by :func:`~leadgate.lifecycle.decisions.decide` as ``leadgate accept`` checks it
(the decisions between two cycles are recorded together: :mod:`leadgate.simulate.desk`).

What the reps decide follows the ground truth: a lead that the history makes sales qualified
is almost always accepted, then qualified when the truth says so, and its opportunity is won
or lost when the truth decides it; other leads are rejected with a reason more often than
not. Reps answer most new leads within the SLA and some too late, so there are breaches; one
rep takes a week off. A decision the lead has outgrown meanwhile (another rep got it after a
breach, a rule made it SQL first, the rep is away) is simply not made, as in life; any other
refusal by the real checks is a bug and stops the play. The same seed gives the same play.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from leadgate.domain.stages import Stage
from leadgate.lifecycle.decisions import Decision
from leadgate.playbook.compiled import Playbook
from leadgate.routing.assign import Absence
from leadgate.routing.business_time import BusinessCalendar, add_business_minutes
from leadgate.routing.sla import calendar_of, local_day
from leadgate.service.cycle import check_slas, run_cycle
from leadgate.service.reps import mark_away
from leadgate.service.scoring import SCORES_TABLE
from leadgate.simulate.desk import DecisionDesk
from leadgate.simulate.summary import Progress
from leadgate.simulate.to_store import TRUTH_TABLE
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore

SOURCE = "simulation"
ON_TIME_SHARE = 0.88  # reps answer this share of new leads within the SLA ...
ON_TIME_MINUTES = (10, 210)  # ... after this many business minutes
LATE_MINUTES = (270, 720)  # the others this late
ACCEPT_IF_SQL = 0.93  # a lead the truth makes an SQL is accepted this often
ACCEPT_BASE, ACCEPT_PER_PROPENSITY, ACCEPT_MAX = 0.3, 2.0, 0.8  # other leads
DAYS_TO_QUALIFY = (1, 8)  # working days between acceptance and the SQL, at the earliest
DAYS_TO_OPPORTUNITY = (0, 4)
GIVE_UP_SHARE = 0.35  # accepted leads that go nowhere: disqualified after some weeks
GIVE_UP_DAYS = (15, 45)
GIVE_UP_REASON = "no_project"
ABSENCE_AT, ABSENCE_DAYS = 0.6, 6  # one rep is away for a week, from 60% of the window

# Why reps reject, with how often and what they write (a reason missing from the playbook is skipped).
REJECTIONS: dict[str, tuple[float, tuple[str, ...]]] = {
    "no_budget": (0.26, ("No budget this year", "Budget frozen until next quarter", "Looking for a free tool")),
    "bad_timing": (0.22, ("Project starts next year", "Re-org under way, call back later", "Just renewed elsewhere")),
    "not_icp": (0.18, ("Too small for us", "Agency, not an end customer", "Out of our territory")),
    "not_reachable": (0.14, ("No answer to three calls", "Mailbox full", "Out of office for a month")),
    "bad_contact_data": (
        0.07,
        (
            "Wrong phone number",
            "Fake company name",
        ),
    ),
    "duplicate": (0.06, ("Same person as an existing lead",)),
    "student": (0.04, ("Student project",)),
    "competitor": (0.03, ("Works for a competitor",)),
}


_PLANNED_FROM = {
    "accept": (Stage.SAL_PENDING,),
    "reject": (Stage.SAL_PENDING,),
    "qualify": (Stage.SAL,),
    "disqualify": (Stage.SAL,),
    "opportunity": (Stage.SQL,),
    "won": (Stage.OPPORTUNITY,),
    "lost": (Stage.OPPORTUNITY,),
}


@dataclass
class SalesSummary:
    """What the sales side did over the window."""

    cycles: int = 0
    assignments: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    rejection_reasons: Counter[str] = field(default_factory=Counter)
    sla_breaches: int = 0
    requalified: int = 0
    overtaken: int = 0  # decisions planned, then not made: the lead had moved on, or its rep was away
    awaiting_at_end: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "cycles": self.cycles,
            "assignments": self.assignments,
            "decisions": dict(sorted(self.decisions.items())),
            "rejection_reasons": dict(sorted(self.rejection_reasons.items())),
            "sla_breaches": self.sla_breaches,
            "requalified": self.requalified,
            "overtaken": self.overtaken,
            "awaiting_at_end": self.awaiting_at_end,
        }

    def describe(self) -> str:
        made = ", ".join(f"{count:,} {kind}" for kind, count in sorted(self.decisions.items()))
        return (
            f"{self.cycles} daily cycles; {self.assignments:,} assignments; decisions: {made or 'none'}; "
            f"{self.sla_breaches:,} SLA breaches; {self.requalified:,} leads qualified again after recycling; "
            f"{self.awaiting_at_end:,} leads await a decision at the end"
        )


@dataclass(frozen=True)
class _Truth:
    propensity: float
    sql_at: dt.datetime | None
    outcome: str
    outcome_at: dt.datetime | None
    account_id: str | None


@dataclass(order=True)
class _Step:
    at: dt.datetime
    order: int
    kind: str = field(compare=False)  # cycle, sla, decide
    lead_id: str = field(default="", compare=False)
    actor: str = field(default="", compare=False)
    decision: str = field(default="", compare=False)
    reason: str | None = field(default=None, compare=False)
    note: str | None = field(default=None, compare=False)
    duplicate_of: str | None = field(default=None, compare=False)


class _Play:
    """The timeline of one play: cycles, SLA checks and decisions, in time order."""

    def __init__(self, store: Store, playbook: Playbook, seed: int, start: dt.datetime, end: dt.datetime) -> None:
        self.store = store
        self.playbook = playbook
        self.lifecycle = LifecycleStore(store)
        self.rng = np.random.default_rng([seed, 7])
        self.calendar: BusinessCalendar = calendar_of(playbook.model)
        self.end = end
        self.truth = _read_truth(store)
        self.colleagues = _leads_by_account(self.truth)
        self.steps: list[_Step] = []
        self.counter = 0
        self.answered: set[tuple[int, dt.datetime]] = set()  # (lead key, assigned at): answer planned
        self.watched: set[tuple[int, dt.datetime]] = set()  # deadlines with an SLA check planned
        self.summary = SalesSummary()
        self.desk = DecisionDesk(store, playbook)
        self.lead_ids: dict[int, str] = {}
        for moment in _mornings(self.calendar, start, end):
            self.push(_Step(moment, 0, "cycle"))
        self.push(_Step(end, 0, "cycle"))

    def push(self, step: _Step) -> None:
        if step.at > self.end:
            return  # beyond the window: not decided yet
        self.counter += 1
        step.order = self.counter
        heapq.heappush(self.steps, step)

    def run(self, progress: Progress) -> SalesSummary:
        total = len(self.steps)
        while self.steps:
            step = heapq.heappop(self.steps)
            if step.kind == "decide":
                self.decide(step)
                continue
            self.desk.record()  # the decisions since the last cycle or check, before the next one
            if step.kind == "cycle":
                report = run_cycle(self.store, self.playbook, step.at, full=True)
                self.summary.cycles += 1
                self.summary.assignments += report.assigned + report.to_manager_queue
                self.summary.sla_breaches += report.breaches
                self.summary.requalified += report.requalified
                self.plan_answers()
                progress("sales", self.summary.cycles, total)
            elif step.kind == "sla":
                self.summary.sla_breaches += check_slas(self.store, self.lifecycle, self.playbook, step.at)
                self.plan_answers()
        self.desk.record()
        self.summary.awaiting_at_end = sum(
            1 for state in self.lifecycle.states().values() if state.stage == Stage.SAL_PENDING
        )
        return self.summary

    def plan_answers(self) -> None:
        """An answer for every lead newly awaiting acceptance, and an SLA check at its deadline."""
        for state in self.desk.awaiting():
            if state.assigned_at is None:
                continue
            if state.due_at is not None and (state.lead_key, state.due_at) not in self.watched:
                self.watched.add((state.lead_key, state.due_at))
                self.push(_Step(state.due_at + dt.timedelta(minutes=1), 0, "sla"))
            if (state.lead_key, state.assigned_at) in self.answered or state.owner is None:
                continue
            self.answered.add((state.lead_key, state.assigned_at))
            self.plan_answer(self.lead_id(state.lead_key), state.owner, state.assigned_at)

    def plan_answer(self, lead_id: str, owner: str, assigned_at: dt.datetime) -> None:
        """The owner's answer, on time or late (a late one may find the lead gone to someone else)."""
        low, high = ON_TIME_MINUTES if self.rng.random() < ON_TIME_SHARE else LATE_MINUTES
        at = add_business_minutes(self.calendar, assigned_at, int(self.rng.integers(low, high)))
        truth = self.truth.get(lead_id)
        will_be_sql = truth is not None and truth.sql_at is not None
        propensity = truth.propensity if truth is not None else 0.0
        chance = ACCEPT_IF_SQL if will_be_sql else min(ACCEPT_MAX, ACCEPT_BASE + ACCEPT_PER_PROPENSITY * propensity)
        if self.rng.random() < chance:
            self.push(_Step(at, 0, "decide", lead_id, owner, "accept"))
            return
        reason, note = self.rejection()
        duplicate_of = None
        if reason == "duplicate":
            duplicate_of = self.colleague_of(lead_id)
            if duplicate_of is None:
                reason, note = "bad_contact_data", "Wrong phone number"
        self.push(_Step(at, 0, "decide", lead_id, owner, "reject", reason, note, duplicate_of))

    def rejection(self) -> tuple[str, str]:
        known = self.playbook.model.stages.sal.reject_reasons
        reasons = [name for name in REJECTIONS if name in known] or sorted(known)
        weights = np.array([REJECTIONS.get(name, (1.0, ()))[0] for name in reasons])
        reason = reasons[int(self.rng.choice(len(reasons), p=weights / weights.sum()))]
        notes = REJECTIONS.get(reason, (0.0, ("",)))[1]
        return reason, notes[int(self.rng.integers(len(notes)))]

    def colleague_of(self, lead_id: str) -> str | None:
        truth = self.truth.get(lead_id)
        others = [other for other in self.colleagues.get(truth.account_id if truth else None, []) if other != lead_id]
        return others[int(self.rng.integers(len(others)))] if others else None

    def decide(self, step: _Step) -> None:
        checklist = tuple(self.playbook.model.stages.sql.checklist) if step.decision == "qualify" else ()
        decision = Decision(
            step.decision,
            step.lead_id,
            step.actor,
            step.at,
            reason=step.reason,
            note=step.note,
            checklist=checklist,
            duplicate_of=step.duplicate_of,
            source=SOURCE,
        )
        if not self.desk.states:  # the first decision since the last record: read for all until the next one
            self.desk.read([step.lead_id, *self.decisions_before_next_check()])
        if self.overtaken(step):
            self.summary.overtaken += 1
            return
        self.desk.make(decision)  # any refusal now is a bug: let it show
        self.summary.decisions[step.decision] += 1
        if step.reason and step.decision == "reject":
            self.summary.rejection_reasons[step.reason] += 1
        self.plan_next(step)

    def overtaken(self, step: _Step) -> bool:
        """Whether life moved past a planned decision: the lead left the stage it was planned
        for, went to someone else after a breach, or its rep is away that day."""
        state = self.desk.state(step.lead_id)
        if state.stage not in _PLANNED_FROM[step.decision]:
            return True
        if step.decision in ("accept", "reject") and state.owner != step.actor:
            return True
        day = local_day(self.playbook.model, step.at)
        return any(absence.rep == step.actor and absence.covers(day) for absence in self.desk.absences())

    def decisions_before_next_check(self) -> list[str]:
        """The leads of the decisions planned before the next cycle or SLA check."""
        barrier = min((step for step in self.steps if step.kind != "decide"), default=None)
        return [step.lead_id for step in self.steps if step.kind == "decide" and (barrier is None or step < barrier)]

    def plan_next(self, step: _Step) -> None:
        """What follows a decision, as the truth has it."""
        truth = self.truth.get(step.lead_id)
        if truth is None:
            return
        if step.decision == "accept":
            if truth.sql_at is not None:
                earliest = self.working_days_after(step.at, DAYS_TO_QUALIFY)
                self.push(_Step(max(truth.sql_at, earliest), 0, "decide", step.lead_id, step.actor, "qualify"))
            elif self.rng.random() < GIVE_UP_SHARE and GIVE_UP_REASON in self.playbook.model.stages.disqualify_reasons:
                later = self.working_days_after(step.at, GIVE_UP_DAYS)
                note = "No project after several calls"
                self.push(_Step(later, 0, "decide", step.lead_id, step.actor, "disqualify", GIVE_UP_REASON, note))
        elif step.decision == "qualify":
            self.push(
                _Step(
                    self.working_days_after(step.at, DAYS_TO_OPPORTUNITY),
                    0,
                    "decide",
                    step.lead_id,
                    step.actor,
                    "opportunity",
                )
            )
        elif step.decision == "opportunity" and truth.outcome_at is not None and truth.outcome in ("won", "lost"):
            at = max(truth.outcome_at, self.working_days_after(step.at, (1, 3)))
            self.push(_Step(at, 0, "decide", step.lead_id, step.actor, truth.outcome))

    def working_days_after(self, moment: dt.datetime, days: tuple[int, int]) -> dt.datetime:
        span = self.calendar.minutes_per_day
        minutes = int(self.rng.integers(days[0] * span, days[1] * span + span))
        return add_business_minutes(self.calendar, moment, minutes)

    def lead_id(self, lead_key: int) -> str:
        if lead_key not in self.lead_ids:  # the scores list every lead the history has stored
            scores = self.store.backend.table(SCORES_TABLE).select("lead_key", "lead_id").to_pyarrow()
            self.lead_ids = dict(zip(scores["lead_key"].to_pylist(), scores["lead_id"].to_pylist(), strict=True))
        return self.lead_ids[lead_key]


def play_sales(
    store: Store,
    playbook: Playbook,
    seed: int,
    start: dt.datetime,
    end: dt.datetime,
    progress: Progress | None = None,
) -> SalesSummary:
    """Replay ``start`` to ``end`` with cycles and the reps' decisions (see the module's text).

    A store that already has hand-off facts (a simulation run again) is played on from its
    latest fact only: what was played stays, and nothing is played twice.
    """
    latest = LifecycleStore(store).latest_fact_at()
    if latest is not None:
        start = max(start, latest)
    play = _Play(store, playbook, seed, start, end)
    if latest is None:
        _plan_absence(play, start, end)
    return play.run(progress or (lambda phase, done, total: None))


def _plan_absence(play: _Play, start: dt.datetime, end: dt.datetime) -> None:
    """One rep of the largest team is away for a week (routing skips them)."""
    teams = sorted(play.playbook.model.teams.values(), key=lambda team: -len(team.members))
    if not teams or len(teams[0].members) < 2:
        return
    first = (start + (end - start) * ABSENCE_AT).date()
    absence = Absence(teams[0].members[-1], first, first + dt.timedelta(days=ABSENCE_DAYS))
    mark_away(play.store, play.playbook, absence, start)


def _mornings(calendar: BusinessCalendar, start: dt.datetime, end: dt.datetime) -> Iterator[dt.datetime]:
    """When each working day of the window opens (naive UTC)."""
    for opens, _ in calendar.working_spans(start):
        if opens >= end:
            return
        if opens.replace(tzinfo=dt.UTC).astimezone(calendar.zone).time() == calendar.start:
            yield opens


def _read_truth(store: Store) -> dict[str, _Truth]:
    rows = store.backend.table(TRUTH_TABLE).to_pyarrow().to_pylist()
    return {
        row["lead_id"]: _Truth(row["propensity"], row["sql_at"], row["outcome"], row["outcome_at"], row["account_id"])
        for row in rows
    }


def _leads_by_account(truth: dict[str, _Truth]) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for lead_id, row in sorted(truth.items()):
        if row.account_id is not None:
            found.setdefault(row.account_id, []).append(lead_id)
    return found
