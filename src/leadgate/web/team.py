"""The managers' pages: the team's open leads and reassigning them, SLA breaches, rep absences.

A manager sees the teams they manage (their :class:`~leadgate.service.keys.Principal`'s
teams); an administrator may look at every team but changes nothing; anyone else gets a 403
page, as does a manager asking for another manager's team or lead. A form that went through
redirects (303) back to its page with a notice, so reloading never sends it twice; a form the
rules refuse is shown again at its place (422) and a lead that moved meanwhile atop the page
(409), and nothing is recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from leadgate.errors import Forbidden, UserError
from leadgate.lifecycle.decisions import Conflict, known_reps
from leadgate.lifecycle.reassign import Reassignment, ReassignmentRefused, team_of
from leadgate.playbook.model import PlaybookModel
from leadgate.routing.assign import Absence
from leadgate.service.decisions import lead_key_of
from leadgate.service.queue import describe_time_left
from leadgate.service.reassign import reassign_lead
from leadgate.service.reps import mark_away, mark_back
from leadgate.service.team import BREACH_ACTIONS, members_of, team_breaches, team_leads, team_reps, visible_teams
from leadgate.service.users import Viewer
from leadgate.store.lifecycle_store import LifecycleStore
from leadgate.web.pages import (
    FormError,
    Posted,
    form_status,
    posted,
    redirect,
    render,
    require_role,
    runtime_of,
    signed_in,
)

LOOKING_ROLES = ("manager", "admin")
ACTING_ROLES = ("manager",)

router = APIRouter()


def _teams(viewer: Viewer) -> frozenset[str] | None:
    return viewer.principal.teams


@router.get("/team", response_class=HTMLResponse)
def team_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(signed_in)],
    team: str = "",
    rep: str = "",
    done: str = "",
    lead: str = "",
    to: str = "",
) -> HTMLResponse:
    """The open leads of the viewer's teams waiting on sales, late ones first."""
    require_role(viewer, *LOOKING_ROLES)
    notice = f"Lead {lead} is now {to}'s; the time to accept it starts again now." if done == "reassigned" else None
    return _render_leads(request, viewer, team, rep, notice=notice)


@router.post("/team/reassign")
def reassign(request: Request, form: Annotated[Posted, Depends(posted)]) -> Response:
    """Give a lead to another rep of its team."""
    viewer = form.viewer
    require_role(viewer, *ACTING_ROLES)
    lead_id, target = form.get("lead_id"), form.get("to")
    expected = _expected_version(form.get("expected_version"))
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    error = None if target else FormError(lead_id, "Choose the rep who should take this lead.")
    with runtime.locked() as store:
        state = LifecycleStore(store).state(lead_key_of(store, lead_id))
        team = team_of(playbook.model, state.team, state.owner)
        if not viewer.principal.sees_team(team):
            managed = ", ".join(sorted(_teams(viewer) or ())) or "no team"
            raise Forbidden(f"lead {lead_id} belongs to {'team ' + team if team else 'no team'}; you manage {managed}")
        if error is None:
            move = Reassignment(lead_id, target, viewer.principal.user or viewer.name, runtime.now(), expected)
            try:
                reassign_lead(store, playbook, move)
            except Conflict as conflict:
                error = FormError(lead_id, str(conflict), conflict=True)
            except ReassignmentRefused as refused:
                error = FormError(lead_id, _sentence(str(refused)))
    back = {"team": form.get("team"), "rep": form.get("rep")}
    if error is None:
        runtime.worker.wake()  # the next cycle hands the new assignment to the outbox
        return redirect(request, "/team", done="reassigned", lead=lead_id, to=target, **_kept(back))
    return _render_leads(request, viewer, back["team"], back["rep"], error=error)


def _render_leads(
    request: Request,
    viewer: Viewer,
    team: str,
    rep: str,
    notice: str | None = None,
    error: FormError | None = None,
) -> HTMLResponse:
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    model = playbook.model
    shown = visible_teams(model, _teams(viewer))
    _check_filters(model, shown, team, rep)
    now = runtime.now()
    with runtime.locked() as store:
        found = team_leads(store, playbook, _teams(viewer), now, team or None, rep or None)
    return render(
        request,
        "team_leads.html",
        viewer,
        status_code=form_status(error),
        found=found,
        leads=found.leads,
        teams=shown,
        reps=members_of(model, [team] if team else shown),
        chosen_team=team,
        chosen_rep=rep,
        can_act=viewer.role in ACTING_ROLES,
        time_left=describe_time_left,
        notice=notice,
        error=error,
        as_of=now,
    )


def _check_filters(model: PlaybookModel, shown: list[str], team: str, rep: str) -> None:
    """A filter naming another manager's team or rep is a 403; one naming nobody a 400."""
    if team and team not in shown:
        if team in model.teams:
            raise Forbidden(f"team {team} is not one you manage (yours: {', '.join(shown) or 'none'})")
        raise UserError(f"there is no team named {team!r} in the playbook")
    if rep and rep not in members_of(model, [team] if team else shown):
        if rep in known_reps(model):
            raise Forbidden(f"{rep} is not a rep of {'team ' + team if team else 'the teams you manage'}")
        raise UserError(f"there is no rep named {rep!r} in the playbook's teams")


@router.get("/team/breaches", response_class=HTMLResponse)
def breaches_page(request: Request, viewer: Annotated[Viewer, Depends(signed_in)]) -> HTMLResponse:
    """The latest SLA breaches of the viewer's teams, and what the playbook did about each."""
    require_role(viewer, *LOOKING_ROLES)
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    with runtime.locked() as store:
        breaches = team_breaches(store, playbook, _teams(viewer))
    return render(
        request,
        "team_breaches.html",
        viewer,
        breaches=breaches,
        actions=BREACH_ACTIONS,
        late=_lateness,
        sla=playbook.model.stages.sal.sla,
        on_breach=playbook.model.stages.sal.on_sla_breach,
    )


def _lateness(minutes: float) -> str:
    return describe_time_left(-abs(minutes)).replace("overdue by ", "")


@router.get("/team/reps", response_class=HTMLResponse)
def reps_page(request: Request, viewer: Annotated[Viewer, Depends(signed_in)], done: str = "") -> HTMLResponse:
    """The teams' reps with their open leads and absences; forms to mark one away or back."""
    require_role(viewer, *LOOKING_ROLES)
    notices = {
        "away": "The absence is recorded: routing skips the rep on those days.",
        "back": "The absence is cancelled.",
    }
    return _render_reps(request, viewer, notice=notices.get(done))


@router.post("/team/reps/away")
def away(request: Request, form: Annotated[Posted, Depends(posted)]) -> Response:
    """Mark a rep of the viewer's teams away, both days included."""
    viewer, rep = form.viewer, form.get("rep")
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    _require_acting_on(viewer, playbook.model, rep)
    error = None
    try:
        start, end = _date(form.get("from"), "first day away"), _date(form.get("to"), "last day away")
        if end < start:
            raise UserError(f"The last day away ({end}) is before the first ({start}): swap them or fix one.")
        with runtime.locked() as store:
            mark_away(store, playbook, Absence(rep, start, end), runtime.now())
    except UserError as refused:
        error = FormError("away", str(refused))
    if error is None:
        return redirect(request, "/team/reps", done="away")
    return _render_reps(request, viewer, error=error, values=form.fields)


@router.post("/team/reps/back")
def back(request: Request, form: Annotated[Posted, Depends(posted)]) -> Response:
    """Cancel an absence of a rep of the viewer's teams (the one starting on ``from``)."""
    viewer, rep = form.viewer, form.get("rep")
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    _require_acting_on(viewer, playbook.model, rep)
    error = None
    try:
        start = _date(form.get("from"), "first day of the absence")
        with runtime.locked() as store:
            mark_back(store, playbook, rep, start, runtime.now())
    except UserError as refused:
        error = FormError(f"back-{rep}-{form.get('from')}", _sentence(str(refused)))
    if error is None:
        return redirect(request, "/team/reps", done="back")
    return _render_reps(request, viewer, error=error)


def _render_reps(
    request: Request,
    viewer: Viewer,
    notice: str | None = None,
    error: FormError | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    now = runtime.now()
    with runtime.locked() as store:
        reps = team_reps(store, playbook, _teams(viewer), now)
    return render(
        request,
        "team_reps.html",
        viewer,
        status_code=form_status(error),
        reps=reps,
        shown=visible_teams(playbook.model, _teams(viewer)),
        can_act=viewer.role in ACTING_ROLES,
        notice=notice,
        error=error,
        values=values or {},
    )


def _require_acting_on(viewer: Viewer, model: PlaybookModel, rep: str) -> None:
    """A manager acting on a member of a team they manage (else a 403 page, or a 400 for nobody)."""
    require_role(viewer, *ACTING_ROLES)
    if rep in members_of(model, visible_teams(model, _teams(viewer))):
        return
    if rep in known_reps(model):
        raise Forbidden(f"{rep} is not a rep of the teams you manage")
    raise UserError(f"there is no rep named {rep!r} in the playbook's teams")


def _date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"The {what} is missing or not a date: write it as YYYY-MM-DD.") from None


def _expected_version(text: str) -> int:
    if not text.isdigit():
        raise UserError("this form does not say which version of the lead it was made for; reload the team page")
    return int(text)


def _kept(filters: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in filters.items() if value}


def _sentence(message: str) -> str:
    """A service's message as a sentence on a page (names stay as written: ``dev`` is no ``Dev``)."""
    return message if message.endswith(".") else message + "."
