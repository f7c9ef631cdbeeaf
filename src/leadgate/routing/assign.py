"""Who gets a qualified lead: the playbook's routing rules applied to one lead. Pure.

The first rule whose condition holds decides. Within a team, the method picks the rep:

- ``round_robin``: the member after the one the team's rotation assigned last (members in the
  order the playbook lists them), so the rotation is even and survives a restart (it is read
  back from the assignment facts);
- ``weighted``: the member whose share of the team's weighted assignments is furthest below
  their weight (ties to the first listed), a deterministic smooth rotation;
- ``least_loaded``: the member with the fewest open leads, under ``max_open_per_rep``.

Absent reps are skipped. When no rep is eligible, the lead goes to the team manager's queue:
never silently unassigned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from leadgate.errors import UserError
from leadgate.playbook.model import PlaybookModel
from leadgate.playbook.model_handoff import RoutingRule


@dataclass(frozen=True)
class Absence:
    rep: str
    start: dt.date
    end: dt.date  # inclusive

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class RoutingState:
    """What routing needs to know beyond the lead: loads, rotations, absences."""

    open_leads: Mapping[str, int] = field(default_factory=dict)  # rep -> leads awaiting or accepted
    last_assigned: Mapping[str, str] = field(default_factory=dict)  # team -> rep its rotation chose last
    assigned_counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # team -> rep -> weighted picks
    absences: Sequence[Absence] = ()
    unavailable: frozenset[str] = frozenset()  # reps left out for this lead (the one whose SLA ran out)

    def is_absent(self, rep: str, day: dt.date) -> bool:
        if rep in self.unavailable:
            return True
        return any(absence.rep == rep and absence.covers(day) for absence in self.absences)

    def after(self, assignment: Assignment, taken_from: str | None = None) -> RoutingState:
        """The state once ``assignment`` is made (loads and rotations move on); ``taken_from``
        is the previous owner of a reassigned lead, whose load drops by one."""
        open_leads = {**self.open_leads, assignment.owner: self.open_leads.get(assignment.owner, 0) + 1}
        if taken_from is not None and open_leads.get(taken_from, 0) > 0:
            open_leads[taken_from] -= 1
        last, counts = dict(self.last_assigned), {team: dict(reps) for team, reps in self.assigned_counts.items()}
        if assignment.team is not None and assignment.method == "round_robin":
            last[assignment.team] = assignment.owner
        if assignment.team is not None and assignment.method == "weighted":
            team_counts = counts.setdefault(assignment.team, {})
            team_counts[assignment.owner] = team_counts.get(assignment.owner, 0) + 1
        return RoutingState(open_leads, last, counts, self.absences, self.unavailable)


@dataclass(frozen=True)
class Assignment:
    """The routing decision: the owner, and why."""

    owner: str
    team: str | None
    rule_index: int
    rule: str  # the rule's label, or its condition, for the audit trail
    method: str  # account_owner, rep, round_robin, weighted, least_loaded, or manager_queue
    reason: str


def route(
    model: PlaybookModel,
    matching_rules: Sequence[bool],
    account_owner: str | None,
    state: RoutingState,
    day: dt.date,
) -> Assignment:
    """Assign one lead. ``matching_rules[i]`` says whether rule i's condition holds for it."""
    for index, rule in enumerate(model.routing):
        if rule.when is not None and not matching_rules[index]:
            continue
        target = rule.to
        label = rule.label or (str(rule.when) if rule.when else "catch-all")
        if target.kind == "account_owner":
            if account_owner and not state.is_absent(account_owner, day):
                return Assignment(account_owner, None, index, label, "account_owner", "the account's owner")
            continue  # no owner, or the owner is away: the next rule decides
        if target.kind == "rep":
            rep = target.name or ""
            if not state.is_absent(rep, day):
                return Assignment(rep, None, index, label, "rep", f"rule sends leads to {rep}")
            continue
        return _within_team(model, index, rule, label, state, day)
    return manager_queue(model, None, -1, "no rule could assign", "no routing rule found an available owner")


def manager_queue(model: PlaybookModel, team: str | None, rule_index: int, rule: str, why: str) -> Assignment:
    """The manager's queue of ``team``, or of the playbook's first team when the lead has none
    (never silently unassigned)."""
    name = team if team in model.teams else next(iter(model.teams), None)
    if name is None:
        raise UserError("no routing rule could assign a lead and the playbook has no team whose manager could take it")
    return Assignment(model.teams[name].manager, name, rule_index, rule, "manager_queue", f"{why}: the manager's queue")


def _within_team(
    model: PlaybookModel, index: int, rule: RoutingRule, label: str, state: RoutingState, day: dt.date
) -> Assignment:
    team_name = rule.to.name or ""
    team = model.teams[team_name]
    method = rule.method or "round_robin"
    present = [rep for rep in team.members if not state.is_absent(rep, day)]
    if method == "least_loaded" and rule.max_open_per_rep is not None:
        present = [rep for rep in present if state.open_leads.get(rep, 0) < rule.max_open_per_rep]
    if not present:
        return manager_queue(model, team_name, index, label, "every member is absent or at capacity")
    if method == "least_loaded":
        chosen = min(present, key=lambda rep: (state.open_leads.get(rep, 0), team.members.index(rep)))
        reason = f"fewest open leads: {state.open_leads.get(chosen, 0)}"
    elif method == "weighted":
        weights = rule.weights or {}
        counts = state.assigned_counts.get(team_name, {})
        total = sum(counts.get(rep, 0) for rep in present) + 1
        weight_sum = sum(weights.get(rep, 1) for rep in present)

        def deficit(rep: str) -> tuple[float, int]:
            share = weights.get(rep, 1) / weight_sum
            return (counts.get(rep, 0) - share * total, team.members.index(rep))

        chosen = min(present, key=deficit)
        reason = f"weighted rotation, weight {weights.get(chosen, 1)} of {weight_sum}"
    else:
        chosen = _next_in_rotation(team.members, present, state.last_assigned.get(team_name))
        reason = "round-robin"
    return Assignment(chosen, team_name, index, label, method, reason)


def _next_in_rotation(members: Sequence[str], present: Sequence[str], last: str | None) -> str:
    if last is None or last not in members:
        return present[0]
    start = members.index(last)
    for step in range(1, len(members) + 1):
        candidate = members[(start + step) % len(members)]
        if candidate in present:
            return candidate
    return present[0]
