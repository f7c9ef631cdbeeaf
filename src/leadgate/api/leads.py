"""Reading leads: a filtered, sorted, paged listing; one lead's state, score explanation and story.

A sales or manager key sees its rep's own leads and those of the teams it sees; marketing and
admin keys see every lead. The listing applies that reach in its query, so a page is always
full of leads the key may see. Pages are chained by an opaque ``next_cursor``.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from leadgate.api.auth import allowed, runtime_of
from leadgate.api.models import LeadStateView, state_view
from leadgate.api.problems import PROBLEM_RESPONSES
from leadgate.domain.stages import Stage
from leadgate.domain.times import UtcTime
from leadgate.errors import InputError, Issue
from leadgate.scoring.explain import Explanation
from leadgate.service.decisions import lead_key_of
from leadgate.service.explain import explain_lead
from leadgate.service.history import MAX_EVENTS, History, lead_history
from leadgate.service.keys import Principal
from leadgate.service.listing import LeadFilters, LeadRow, LeadSort, Position, SortOrder, list_leads
from leadgate.store.lifecycle_store import LifecycleStore

READ_ROLES = ("sales", "manager", "marketing", "admin")
MAX_PAGE = 500
MAX_CURSOR = 400  # characters: a cursor holds a sort, an order, a value and a key

router = APIRouter(tags=["leads"])


class LeadPage(BaseModel):
    leads: list[LeadRow]
    next_cursor: str | None = Field(description="Pass it as `cursor` for the next page (null: the last page)")
    as_of: UtcTime | None = Field(description="When the listed scores were computed (UTC)")


class LeadDetail(BaseModel):
    lead_id: str
    state: LeadStateView
    explanation: Explanation = Field(description="The score as of now, rule by rule")
    history: History = Field(description="Events, moves, assignments, decisions and SLA breaches, oldest first")


@router.get("/v1/leads", response_model=LeadPage, responses=PROBLEM_RESPONSES, summary="List leads: filter, sort, page")
def get_leads(
    request: Request,
    principal: Annotated[Principal, Depends(allowed(*READ_ROLES))],
    stage: Annotated[list[Stage] | None, Query(description="Only these stages (repeat for several)")] = None,
    owner: Annotated[str | None, Query(max_length=200, description="Only the leads of this rep")] = None,
    team: Annotated[str | None, Query(max_length=200, description="Only the leads of this team")] = None,
    min_score: Annotated[float | None, Query(allow_inf_nan=False, description="Score at least")] = None,
    max_score: Annotated[float | None, Query(allow_inf_nan=False, description="Score at most")] = None,
    sort: Annotated[LeadSort, Query(description="since: when the lead entered its stage")] = "score",
    order: Annotated[SortOrder, Query()] = "desc",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Leads per page")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=MAX_CURSOR, description="The next_cursor of the page before")
    ] = None,
) -> LeadPage:
    after = decode_cursor(cursor, sort, order) if cursor else None
    filters = LeadFilters(
        stages=[item.value for item in stage or []], owner=owner, team=team, min_score=min_score, max_score=max_score
    )
    runtime = runtime_of(request)
    with runtime.locked() as store:
        listing = list_leads(store, principal, filters, sort, order, limit, after)
    next_cursor = encode_cursor(sort, order, listing.next_after) if listing.next_after else None
    return LeadPage(leads=listing.leads, next_cursor=next_cursor, as_of=listing.as_of)


@router.get(
    "/v1/leads/{lead_id}",
    response_model=LeadDetail,
    responses=PROBLEM_RESPONSES,
    summary="One lead: its state, why it has its score, its story",
)
def get_lead(
    request: Request,
    lead_id: str,
    principal: Annotated[Principal, Depends(allowed(*READ_ROLES))],
    events: Annotated[
        int, Query(ge=0, le=MAX_EVENTS, description="How many of its latest events the story shows")
    ] = 100,
) -> LeadDetail:
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    with runtime.locked() as store:
        state = LifecycleStore(store).state(lead_key_of(store, lead_id))
        principal.require_lead(state.owner, state.team, lead_id)
        explanation = explain_lead(store, playbook, lead_id, runtime.now())
        history = lead_history(store, lead_id, events)
    return LeadDetail(lead_id=lead_id, state=state_view(state), explanation=explanation, history=history)


def encode_cursor(sort: str, order: str, position: Position) -> str:
    """An opaque token: the sort and order it continues, and the last sort value and lead key."""
    value = position.value.isoformat() if isinstance(position.value, dt.datetime) else position.value
    raw = orjson.dumps({"sort": sort, "order": order, "after": [value, position.lead_key]})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, sort: str, order: str) -> Position:
    """The position a cursor names, or a 400 saying why it cannot be used."""
    try:
        document = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        value, lead_key = document["after"]
        made_for = (document["sort"], document["order"])
        position = Position(_sort_value(value, document["sort"]), _integer(lead_key))
    except (ValueError, KeyError, TypeError):
        raise _bad_cursor(
            "it is not a cursor of this API; pass the next_cursor of the page before, unchanged"
        ) from None
    if made_for != (sort, order):
        raise _bad_cursor(
            f"it continues a listing sorted by {made_for[0]} {made_for[1]}, not {sort} {order}; "
            "keep sort and order while paging"
        )
    return position


def _sort_value(value: Any, sort: str) -> float | dt.datetime:
    if sort == "since":
        return dt.datetime.fromisoformat(str(value))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("not a number")
    return float(value)


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not an integer")
    return value


def _bad_cursor(why: str) -> InputError:
    return InputError(f"the cursor cannot be used: {why}", [Issue("query.cursor", 0, 0, "bad_cursor", why)])
