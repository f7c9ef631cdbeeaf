"""The stage machine: which stage may follow which, and for what cause. One table.

``leadgate stages`` prints it for the playbook in force. Everything that moves a lead (the
qualification cycle, routing, a salesperson's decision, an SLA breach, an imported CRM
outcome) asks :func:`check_transition` first; a move outside the table is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from leadgate.domain.stages import Stage
from leadgate.errors import UserError
from leadgate.playbook.model import PlaybookModel


class Cause(StrEnum):
    """What moves a lead."""

    RULE = "rule"  # a playbook condition became true
    ROUTING = "routing"  # the lead was assigned to a rep (or a manager's queue)
    DECISION = "decision"  # a salesperson decided
    SLA = "sla"  # the SLA to accept or reject ran out
    CONSEQUENCE = "consequence"  # what a rejection reason says happens next
    OUTCOME = "outcome"  # won or lost, from sales or a CRM export


@dataclass(frozen=True)
class Transition:
    """One allowed move, and what it means in words."""

    source: Stage
    target: Stage
    causes: frozenset[Cause]
    meaning: str


def _t(source: Stage, target: Stage, causes: set[Cause], meaning: str) -> Transition:
    return Transition(source, target, frozenset(causes), meaning)


OPEN_STAGES = (
    Stage.INQUIRY,
    Stage.MQL,
    Stage.PQL,
    Stage.SAL_PENDING,
    Stage.SAL,
    Stage.SQL,
    Stage.OPPORTUNITY,
    Stage.RECYCLED,
)
CLOSED_STAGES = (Stage.WON, Stage.LOST, Stage.DISQUALIFIED)  # no move leaves them

# The Demand Waterfall with its exits. Rows about PQL or SAL are dropped for a playbook
# without a PQL condition or with SAL disabled (see :func:`transitions_for`).
TRANSITIONS: tuple[Transition, ...] = (
    _t(Stage.INQUIRY, Stage.MQL, {Cause.RULE}, "the MQL condition (or a shortcut to MQL) holds"),
    _t(Stage.INQUIRY, Stage.PQL, {Cause.RULE}, "the PQL condition (or a shortcut to PQL) holds"),
    _t(Stage.RECYCLED, Stage.MQL, {Cause.RULE}, "qualifies again after the cool-off"),
    _t(Stage.RECYCLED, Stage.PQL, {Cause.RULE}, "qualifies again after the cool-off"),
    _t(Stage.MQL, Stage.SAL_PENDING, {Cause.ROUTING}, "assigned, awaiting acceptance"),
    _t(Stage.PQL, Stage.SAL_PENDING, {Cause.ROUTING}, "assigned, awaiting acceptance"),
    _t(Stage.MQL, Stage.SAL, {Cause.ROUTING}, "assigned; SAL is not used, so assignment is acceptance"),
    _t(Stage.PQL, Stage.SAL, {Cause.ROUTING}, "assigned; SAL is not used, so assignment is acceptance"),
    _t(Stage.SAL_PENDING, Stage.SAL, {Cause.DECISION}, "the rep accepted it"),
    _t(Stage.SAL_PENDING, Stage.REJECTED, {Cause.DECISION}, "the rep rejected it, with a reason"),
    _t(Stage.SAL_PENDING, Stage.RECYCLED, {Cause.SLA}, "nobody accepted it in time and the playbook recycles"),
    _t(Stage.REJECTED, Stage.RECYCLED, {Cause.CONSEQUENCE}, "the reason recycles (back to nurture)"),
    _t(Stage.REJECTED, Stage.DISQUALIFIED, {Cause.CONSEQUENCE}, "the reason disqualifies (or merges a duplicate)"),
    _t(Stage.SAL, Stage.SQL, {Cause.DECISION, Cause.RULE}, "the checklist is confirmed, or the SQL condition holds"),
    _t(Stage.SQL, Stage.OPPORTUNITY, {Cause.DECISION, Cause.OUTCOME}, "an opportunity was opened"),
    _t(Stage.SQL, Stage.WON, {Cause.DECISION, Cause.OUTCOME}, "won"),
    _t(Stage.SQL, Stage.LOST, {Cause.DECISION, Cause.OUTCOME}, "lost"),
    _t(Stage.OPPORTUNITY, Stage.WON, {Cause.DECISION, Cause.OUTCOME}, "won"),
    _t(Stage.OPPORTUNITY, Stage.LOST, {Cause.DECISION, Cause.OUTCOME}, "lost"),
    *(_t(stage, Stage.DISQUALIFIED, {Cause.DECISION}, "disqualified by sales, with a reason") for stage in OPEN_STAGES),
)


def transitions_for(pql: bool, sal: bool) -> tuple[Transition, ...]:
    """The table for a playbook: without PQL rows if it has no PQL condition, and with
    assignment going straight to SAL when SAL is not used."""
    rows = []
    for row in TRANSITIONS:
        if not pql and Stage.PQL in (row.source, row.target):
            continue
        if sal and row.source in (Stage.MQL, Stage.PQL) and row.target == Stage.SAL:
            continue
        if not sal and Stage.SAL_PENDING in (row.source, row.target):
            continue
        if not sal and row.source == Stage.SAL_PENDING:
            continue
        rows.append(row)
    return tuple(rows)


def transitions_of(playbook: PlaybookModel) -> tuple[Transition, ...]:
    """The table of a playbook: PQL rows when it defines PQL or a shortcut goes there, and
    SAL as its ``stages.sal`` says."""
    pql = playbook.stages.pql is not None or any(
        shortcut.goes_to == "pql" for shortcut in playbook.stages.shortcuts.values()
    )
    return transitions_for(pql, playbook.stages.sal.enabled)


class TransitionRefused(UserError):
    """A move the stage machine does not allow."""


def check_transition(table: tuple[Transition, ...], source: Stage, target: Stage, cause: Cause) -> Transition:
    """The allowed transition, or :class:`TransitionRefused` saying what is allowed instead."""
    for row in table:
        if row.source == source and row.target == target:
            if cause in row.causes:
                return row
            allowed = ", ".join(sorted(row.causes))
            raise TransitionRefused(f"{source} -> {target} happens by {allowed}, not by {cause}")
    options = sorted({row.target.value for row in table if row.source == source})
    where = f"from {source} a lead can go to {', '.join(options)}" if options else f"{source} is a final stage"
    raise TransitionRefused(f"a lead cannot go from {source} to {target}: {where}")
