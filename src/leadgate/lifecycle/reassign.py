"""A manager moves a lead to another rep of its team by hand: who may, to whom, and the fact. Pure.

Routing assigns a lead when it qualifies, and an SLA breach may move it on; a manager moves it
by hand when its rep is away, overloaded or late. :func:`reassign` checks the move against the
lead's state, the playbook's teams and the absences, and makes the assignment fact: to the
rep's queue, with a fresh SLA deadline while the lead awaits acceptance (as routing gives a new
assignment), ``manual`` as its cause and method, and the manager as its ``rule`` (the one who
chose the owner), so the audit trail says who moved it. A move made on a stale view of the lead
is a :class:`~leadgate.lifecycle.decisions.Conflict`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from leadgate.domain.stages import Stage
from leadgate.errors import UserError
from leadgate.lifecycle.decisions import Conflict
from leadgate.lifecycle.facts import AssignmentFact, LeadState
from leadgate.playbook.model import PlaybookModel
from leadgate.routing.assign import Absence
from leadgate.routing.sla import deadline, local_day

MANUAL = "manual"  # the cause and method of an assignment a person made


class ReassignmentRefused(UserError):
    """A reassignment that cannot be made: the lead, the manager or the new rep does not allow it."""


@dataclass(frozen=True)
class Reassignment:
    lead_id: str
    to: str  # the new owner: a rep of the lead's team
    actor: str  # the manager who moves it
    at: dt.datetime
    expected_version: int | None = None  # the version the manager saw (None: whatever is current)


def team_of(model: PlaybookModel, team: str | None, owner: str | None) -> str | None:
    """A lead's team: the one it was assigned in, else the first team listing its owner (a
    lead routed to an account's owner or to a named rep carries no team)."""
    if team in model.teams:
        return team
    return next((name for name, found in model.teams.items() if owner in found.members), None)


def away_on(absences: Sequence[Absence], rep: str, day: dt.date) -> Absence | None:
    """The absence that keeps ``rep`` away on ``day``, if any."""
    return next((absence for absence in absences if absence.rep == rep and absence.covers(day)), None)


def present_members(model: PlaybookModel, team: str, absences: Sequence[Absence], day: dt.date) -> list[str]:
    """The members of ``team`` who are not away on ``day``, in the playbook's order: whom its leads can go to."""
    return [rep for rep in model.teams[team].members if away_on(absences, rep, day) is None]


def reassign(
    state: LeadState, request: Reassignment, model: PlaybookModel, absences: Sequence[Absence]
) -> AssignmentFact:
    """The assignment that moves the lead to ``request.to``, or an error saying why it cannot."""
    if request.expected_version is not None and request.expected_version != state.version:
        owner = f" (owner: {state.owner})" if state.owner else ""
        raise Conflict(
            f"lead {request.lead_id} changed since you looked at it (version {request.expected_version}, "
            f"now {state.version}): it is {state.stage}{owner}; look again before reassigning"
        )
    if not state.is_open or state.owner is None:
        why = "closed" if not state.is_open else "not assigned to anyone"
        raise ReassignmentRefused(
            f"lead {request.lead_id} is {state.stage} and {why}: only an open lead with an owner can be reassigned"
        )
    team = team_of(model, state.team, state.owner)
    if team is None:
        raise ReassignmentRefused(
            f"lead {request.lead_id} belongs to no team ({state.owner} is in none): the playbook's routing decides"
        )
    _check_people(state, request, model, team, absences)
    last_move = max((moment for moment in (state.since, state.assigned_at) if moment is not None), default=None)
    if last_move is not None and request.at < last_move:
        raise ReassignmentRefused(
            f"the reassignment's time {request.at:%Y-%m-%d %H:%M} is before the lead's last move "
            f"({last_move:%Y-%m-%d %H:%M} UTC)"
        )
    return AssignmentFact(
        lead_key=state.lead_key,
        owner=request.to,
        team=team,
        queue="rep",
        rule=request.actor,
        method=MANUAL,
        reason=f"reassigned by {request.actor}, was {state.owner}'s",
        at=request.at,
        due_at=deadline(model, request.at) if state.stage == Stage.SAL_PENDING else None,
        cause=MANUAL,
    )


def _check_people(
    state: LeadState, request: Reassignment, model: PlaybookModel, team: str, absences: Sequence[Absence]
) -> None:
    """The manager must manage the lead's team; the new owner must be another member, present today."""
    manager = model.teams[team].manager
    if request.actor != manager:
        raise ReassignmentRefused(
            f"only {manager}, the manager of team {team}, can reassign lead {request.lead_id}; not {request.actor}"
        )
    members = model.teams[team].members
    if request.to not in members:
        raise ReassignmentRefused(f"{request.to} is not a rep of team {team} (its reps: {', '.join(members)})")
    if request.to == state.owner:
        raise ReassignmentRefused(f"lead {request.lead_id} is already {request.to}'s")
    away = away_on(absences, request.to, local_day(model, request.at))
    if away is not None:
        raise ReassignmentRefused(f"{request.to} is away until {away.end}: choose a rep who is in")
