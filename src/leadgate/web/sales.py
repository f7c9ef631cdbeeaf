"""The sales pages: my queue, the lead page, and the decisions taken from it.

A decision goes through the API's path (:func:`~leadgate.service.decisions.apply_decision`)
with the lead's version as the page showed it: a lead that moved meanwhile is a conflict (409)
shown on the lead page as it now is; a decision the playbook refuses is shown at its form
(422). Either way nothing is recorded. A decision that went through redirects (303) to the lead
page with a notice, so reloading the page never sends it twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from leadgate.errors import Forbidden, NotFound, UserError
from leadgate.lifecycle.decisions import Conflict, Decision
from leadgate.service.decisions import apply_decision
from leadgate.service.queue import describe_time_left, rep_queue
from leadgate.service.users import Viewer
from leadgate.store.lifecycle_store import LifecycleStore
from leadgate.web.lead_page import DECIDING_ROLES, assemble_lead_page, key_of, require_reach
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

READ_ROLES = ("sales", "manager", "marketing", "admin")
MAX_NOTE = 4000  # characters, as the API
MAX_FIELD = 200

NOTICES = {
    "accept": "Accepted: the lead is yours to work (SAL).",
    "reject": "Rejected, with its reason: the lead has left your queue; the stage history shows what the playbook did next.",
    "qualify": "Qualified: the lead is now sales qualified (SQL).",
    "disqualify": "Disqualified: the lead is out for good and has left your queue.",
}

router = APIRouter()


def lead_path(lead_id: str) -> str:
    return f"/leads/{quote(lead_id, safe='')}"


@router.get("/queue", response_class=HTMLResponse)
def my_queue(
    request: Request,
    viewer: Annotated[Viewer, Depends(signed_in)],
) -> HTMLResponse:
    """The viewer's own leads: awaiting their answer first (best score first), then accepted."""
    require_role(viewer, *DECIDING_ROLES)
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    now = runtime.now()
    with runtime.locked() as store:
        items = rep_queue(store, playbook, viewer.principal.user or viewer.name, now)
    return render(
        request,
        "sales_queue.html",
        viewer,
        waiting=[item for item in items if item.stage == "sal_pending"],
        accepted=[item for item in items if item.stage == "sal"],
        time_left=describe_time_left,
        as_of=now,
    )


@router.get("/leads/{lead_id}", response_class=HTMLResponse)
def lead_page(
    request: Request, lead_id: str, viewer: Annotated[Viewer, Depends(signed_in)], done: str | None = None
) -> HTMLResponse:
    require_role(viewer, *READ_ROLES)
    return _render_lead(request, viewer, lead_id, notice=NOTICES.get(done or ""))


@router.post("/leads/{lead_id}/decisions")
def decide(request: Request, lead_id: str, form: Annotated[Posted, Depends(posted)]) -> Response:
    """Record accept, reject, qualify or disqualify; see the module docstring for the answers."""
    viewer = form.viewer
    require_role(viewer, *DECIDING_ROLES)
    kind = form.get("kind")
    if kind not in NOTICES:
        raise UserError(f"this form asks for {kind or 'no decision'!r}; the lead page offers {', '.join(NOTICES)}")
    expected = _expected_version(form.get("expected_version"))
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    error = _incomplete(kind, form)
    with runtime.locked() as store:
        state = LifecycleStore(store).state(key_of(store, lead_id))
        require_reach(viewer.principal, state, lead_id)
        if error is None:
            try:
                apply_decision(store, playbook, _decision(kind, lead_id, viewer, form, expected, runtime.now()))
            except Conflict as conflict:
                error = FormError(kind, str(conflict), conflict=True)
            except (Forbidden, NotFound):
                raise
            except UserError as refused:  # the playbook or the stage machine refuses it: nothing was written
                error = FormError(kind, str(refused))
    if error is None:
        runtime.worker.wake()  # an accepted lead may be an SQL by rule already; notifications follow moves
        # a rejected or disqualified lead is nobody's any more, but stays readable by who handled it
        return redirect(request, lead_path(lead_id), done=kind)
    return _render_lead(request, viewer, lead_id, error=error, values=form.fields, lists=form.lists)


def _render_lead(
    request: Request,
    viewer: Viewer,
    lead_id: str,
    notice: str | None = None,
    error: FormError | None = None,
    values: dict[str, str] | None = None,
    lists: dict[str, list[str]] | None = None,
) -> HTMLResponse:
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    now = runtime.now()
    with runtime.locked() as store:
        page = assemble_lead_page(store, playbook, viewer.principal, lead_id, now)
    return render(
        request,
        "sales_lead.html",
        viewer,
        status_code=form_status(error),
        page=page,
        stages=playbook.model.stages,
        notice=notice,
        error=error,
        values=values or {},
        checked=set((lists or {}).get("checklist", [])),
        now=now,
        lead_path=lead_path(lead_id),
    )


def _expected_version(text: str) -> int:
    if not text.isdigit():
        raise UserError("this form does not say which version of the lead it was made for; reload the lead page")
    return int(text)


def _incomplete(kind: str, form: Posted) -> FormError | None:
    """What the form lacks, in words a salesperson reads (the service checks the rest)."""
    if kind in ("reject", "disqualify") and not form.get("reason"):
        action = "rejecting" if kind == "reject" else "disqualifying"
        return FormError(kind, f"Choose a reason for {action} this lead: the funnel reports count them.")
    if len(form.get("note")) > MAX_NOTE:
        return FormError(kind, f"The note is too long: at most {MAX_NOTE} characters.")
    if any(len(form.get(name)) > MAX_FIELD for name in ("reason", "duplicate_of")):
        return FormError(kind, f"A reason or a lead id has at most {MAX_FIELD} characters.")
    return None


def _decision(kind: str, lead_id: str, viewer: Viewer, form: Posted, expected: int, at: dt.datetime) -> Decision:
    return Decision(
        kind=kind,
        lead_id=lead_id,
        actor=viewer.principal.user or viewer.name,
        at=at,
        reason=form.get("reason") or None if kind in ("reject", "disqualify") else None,
        note=form.get("note") or None,
        checklist=tuple(form.lists.get("checklist", [])) if kind == "qualify" else (),
        duplicate_of=form.get("duplicate_of") or None if kind == "reject" else None,
        expected_version=expected,
        source="web",
    )
