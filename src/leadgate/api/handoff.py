"""The hand-off over HTTP: sales decisions, reps' queues, and the stage machine in force.

A decision's actor is the rep the key acts as, so only sales and manager keys decide (an
admin key has no rep behind it). The decision is checked by the same code as the CLI's
(:func:`~leadgate.service.decisions.apply_decision`): a lead that moved since the caller
looked at it (``expected_version``) is a 409, a decision the playbook does not allow a 422.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from leadgate.api.auth import allowed, runtime_of
from leadgate.api.models import LeadStateView, state_view
from leadgate.api.problems import PROBLEM_RESPONSES, problem_doc
from leadgate.domain.stages import Stage
from leadgate.domain.times import UtcTime
from leadgate.errors import Forbidden, NotFound
from leadgate.lifecycle.decisions import Decision, DecisionRefused
from leadgate.lifecycle.machine import transitions_of
from leadgate.playbook.compiled import Playbook
from leadgate.service.decisions import apply_decision, lead_key_of
from leadgate.service.keys import Principal
from leadgate.service.queue import QueueItem, rep_queue
from leadgate.store.lifecycle_store import LifecycleStore

DECIDING_ROLES = ("sales", "manager")
QUEUE_ROLES = ("sales", "manager", "admin")
STAGE_ROLES = ("sales", "manager", "marketing", "admin")

DecisionKind = Literal["accept", "reject", "qualify", "disqualify", "opportunity", "won", "lost"]

DECISION_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    409: problem_doc("The lead changed since the caller looked at it"),
}

router = APIRouter(tags=["hand-off"])


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: DecisionKind
    reason: str | None = Field(
        None,
        max_length=100,
        description="reject: a reason of the playbook's stages.sal.reject_reasons; "
        "disqualify: one of stages.disqualify_reasons",
    )
    note: str | None = Field(None, max_length=4000, description="Free text kept with the decision")
    checklist: list[str] = Field(
        default_factory=list, max_length=50, description="qualify: the items of stages.sql.checklist confirmed"
    )
    duplicate_of: str | None = Field(
        None, max_length=200, description="reject with a reason that merges: the lead kept"
    )
    expected_version: int | None = Field(
        None, ge=0, description="The version the caller saw: a lead that moved since is refused with 409"
    )


class DecisionAnswer(BaseModel):
    lead_id: str
    kind: str
    state: LeadStateView = Field(description="The lead's state after the decision")


class Queue(BaseModel):
    owner: str
    as_of: UtcTime
    items: list[QueueItem] = Field(description="Awaiting acceptance first, then accepted; best score first")


class TransitionView(BaseModel):
    source: str
    target: str
    causes: list[str] = Field(description="What may make the move: rule, routing, decision, sla, consequence, outcome")
    meaning: str


class StageTable(BaseModel):
    playbook: str
    playbook_version: int
    stages: list[str] = Field(description="The stages of this playbook, in waterfall order")
    transitions: list[TransitionView]


@router.post(
    "/v1/leads/{lead_id}/decisions",
    response_model=DecisionAnswer,
    responses=DECISION_RESPONSES,
    summary="Record a decision: accept, reject, qualify, disqualify, opportunity, won, lost",
)
def post_decision(
    request: Request,
    lead_id: str,
    body: DecisionRequest,
    principal: Annotated[Principal, Depends(allowed(*DECIDING_ROLES))],
) -> DecisionAnswer:
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    if principal.user is None:  # a sales or manager key is made for a rep; a key of an older kind may not be
        raise Forbidden("this key acts as no rep, and a decision needs one: make a key with --user")
    with runtime.locked() as store:
        state = LifecycleStore(store).state(lead_key_of(store, lead_id))
        principal.require_lead(state.owner, state.team, lead_id)
        decision = Decision(
            kind=body.kind,
            lead_id=lead_id,
            actor=principal.user,
            at=runtime.now(),
            reason=body.reason,
            note=body.note,
            checklist=tuple(body.checklist),
            duplicate_of=body.duplicate_of,
            expected_version=body.expected_version,
            source="api",
        )
        after = apply_decision(store, playbook, decision)
    runtime.worker.wake()  # an accepted lead may be an SQL by rule already; notifications follow moves
    return DecisionAnswer(lead_id=lead_id, kind=body.kind, state=state_view(after))


@router.get(
    "/v1/queues/{owner}",
    response_model=Queue,
    responses=PROBLEM_RESPONSES,
    summary="A rep's queue (or a manager's): awaiting acceptance, then accepted",
)
def get_queue(request: Request, owner: str, principal: Annotated[Principal, Depends(allowed(*QUEUE_ROLES))]) -> Queue:
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    require_queue(principal, playbook, owner)
    now = runtime.now()
    with runtime.locked() as store:
        try:
            items = rep_queue(store, playbook, owner, now)
        except DecisionRefused as unknown:  # no rep of that name, and nobody's leads
            raise NotFound(str(unknown)) from None
    return Queue(owner=owner, as_of=now, items=[item for item in items if _sees(principal, item)])


def require_queue(principal: Principal, playbook: Playbook, owner: str) -> None:
    """Refuse a queue outside the key's reach: a rep sees their own queue; a manager also
    those of the members of the teams they manage (their own is those teams' manager queue)."""
    if principal.teams is None or owner == principal.user:
        return
    if principal.role == "manager":
        teams = sorted(principal.teams)
        if any(owner in playbook.model.teams[team].members for team in teams if team in playbook.model.teams):
            return
        raise Forbidden(f"{owner} is not a member of the teams this key manages ({', '.join(teams) or 'none'})")
    raise Forbidden(f"a {principal.role} key sees only its own queue ({principal.user}'s), not {owner}'s")


def _sees(principal: Principal, item: QueueItem) -> bool:
    """Whether the key sees a lead of the queue (a rep in two teams has leads of both)."""
    try:
        principal.require_lead(item.owner, item.team, item.lead_id)
    except Forbidden:
        return False
    return True


@router.get(
    "/v1/stages",
    response_model=StageTable,
    responses=PROBLEM_RESPONSES,
    summary="The stage machine of the playbook in force: every allowed move and its causes",
)
def get_stages(request: Request, principal: Annotated[Principal, Depends(allowed(*STAGE_ROLES))]) -> StageTable:
    playbook = runtime_of(request).playbook()
    table = transitions_of(playbook.model)
    used = {row.source for row in table} | {row.target for row in table}
    return StageTable(
        playbook=playbook.name,
        playbook_version=playbook.version,
        stages=[stage.value for stage in Stage if stage in used],
        transitions=[
            TransitionView(
                source=row.source.value, target=row.target.value, causes=sorted(row.causes), meaning=row.meaning
            )
            for row in table
        ],
    )
