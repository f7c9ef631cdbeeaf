"""Listing leads: filters, a sort, keyset pages and the caller's reach, in one Ibis query.

The API and the pages list leads over the latest scores joined with the lead states, so a
listing costs one query on the engine, whatever the number of leads. Pages are *keyset* pages:
a page starts after the sort value and lead key of the last lead of the page before, so a lead
that moves while someone pages through never shows twice in one direction, and deep pages cost
what the first one costs (no OFFSET to skip).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel

from leadgate.domain.times import UtcTime
from leadgate.service.keys import Principal
from leadgate.service.moments import scores_with_state
from leadgate.service.scoring import SCORES_TABLE, last_scored_at
from leadgate.store.base import Store

LeadSort = Literal["score", "fit", "engagement", "since"]
SortOrder = Literal["asc", "desc"]
SortValue = float | dt.datetime

# The sort value of a lead that never moved (it has no stage entry time): before every other.
NEVER_MOVED = dt.datetime(1970, 1, 1)


class LeadRow(BaseModel):
    """A lead in a listing (times in UTC)."""

    lead_id: str
    stage: str
    owner: str | None
    team: str | None
    fit: float
    engagement: float
    score: float
    since: UtcTime | None  # when it entered its stage (None: it never moved)
    due_at: UtcTime | None  # the deadline to accept or reject it, while it awaits acceptance
    version: int  # what a decision names to be refused if the lead changed meanwhile


@dataclass(frozen=True)
class LeadFilters:
    stages: Sequence[str] = ()
    owner: str | None = None
    team: str | None = None
    min_score: float | None = None
    max_score: float | None = None


@dataclass(frozen=True)
class Position:
    """Where a page starts: after the lead with this sort value and key."""

    value: SortValue
    lead_key: int


@dataclass(frozen=True)
class Listing:
    leads: list[LeadRow]
    next_after: Position | None  # where the next page starts (None: this is the last page)
    as_of: dt.datetime | None  # when the listed scores were computed


def list_leads(
    store: Store,
    reach: Principal,
    filters: LeadFilters,
    sort: LeadSort = "score",
    order: SortOrder = "desc",
    limit: int = 50,
    after: Position | None = None,
) -> Listing:
    """One page of the leads ``reach`` may see that pass ``filters``, in ``sort`` order
    (ties broken by lead key, in the same direction), starting after ``after``."""
    if not store.has_table(SCORES_TABLE):
        return Listing([], None, None)
    shape = (filters.owner, filters.team, filters.min_score, filters.max_score, tuple(filters.stages))
    key = ("leads", sort, order, limit, after, reach.user, reach.teams, shape)
    rows = store.query_rows(store.kept_recent(key, lambda: _page(store, reach, filters, sort, order, limit, after)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_after = Position(rows[-1]["sort_value"], int(rows[-1]["lead_key"])) if more else None
    return Listing([_row(row) for row in rows], next_after, last_scored_at(store))


def _page(
    store: Store,
    reach: Principal,
    filters: LeadFilters,
    sort: LeadSort,
    order: SortOrder,
    limit: int,
    after: Position | None,
) -> str:
    """The SQL of one page (one lead more than ``limit``: whether there is a next page)."""
    table = _leads(store, sort)
    condition = _filter(table, reach, filters)
    if after is not None:
        condition &= _after(table, order, after)
    direction = ibis.desc if order == "desc" else ibis.asc
    page = table.filter(condition).order_by([direction("sort_value"), direction("lead_key")]).limit(limit + 1)
    return store.sql(page)


def _leads(store: Store, sort: LeadSort) -> ir.Table:
    """The listed columns of every scored lead; a lead that never moved is an inquiry with no owner."""
    joined = scores_with_state(store)
    sort_value = joined.since.fill_null(NEVER_MOVED) if sort == "since" else joined[sort]
    return joined.select(
        "lead_key",
        "lead_id",
        "owner",
        "team",
        "fit",
        "engagement",
        "score",
        "since",
        "due_at",
        stage=joined.stage.fill_null("inquiry"),
        version=joined.version.fill_null(0),
        sort_value=sort_value,
    )


def reach_condition(table: ir.Table, reach: Principal) -> ir.BooleanValue:
    """The leads a key sees: every lead, or the rep's own leads and those of the key's teams."""
    if reach.teams is None:
        return ibis.literal(True)
    condition = ibis.literal(False)
    if reach.user is not None:
        condition |= table.owner == reach.user
    if reach.teams:
        condition |= table.team.isin(sorted(reach.teams))
    return condition.fill_null(False)


def _filter(table: ir.Table, reach: Principal, filters: LeadFilters) -> ir.BooleanValue:
    condition = reach_condition(table, reach)
    if filters.stages:
        condition &= table.stage.isin(list(filters.stages))
    if filters.owner is not None:
        condition &= table.owner == filters.owner
    if filters.team is not None:
        condition &= table.team == filters.team
    if filters.min_score is not None:
        condition &= table.score >= filters.min_score
    if filters.max_score is not None:
        condition &= table.score <= filters.max_score
    return condition


def _after(table: ir.Table, order: SortOrder, after: Position) -> ir.BooleanValue:
    value = ibis.literal(after.value)
    if order == "desc":
        beyond, tie_beyond = table.sort_value < value, table.lead_key < after.lead_key
    else:
        beyond, tie_beyond = table.sort_value > value, table.lead_key > after.lead_key
    return beyond | ((table.sort_value == value) & tie_beyond)


def _row(row: dict[str, object]) -> LeadRow:
    return LeadRow.model_validate({name: value for name, value in row.items() if name in LeadRow.model_fields})
