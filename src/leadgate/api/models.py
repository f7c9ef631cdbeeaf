"""Answers shared by several routes of the REST API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from leadgate.domain.times import UtcTime
from leadgate.lifecycle.facts import LeadState


class LeadStateView(BaseModel):
    """Where a lead stands in the hand-off (times in UTC)."""

    stage: str
    since: UtcTime | None = Field(description="When it entered its stage (null: it never moved)")
    owner: str | None
    team: str | None
    queue: str | None = Field(description="rep, or manager for a lead in a manager's queue")
    version: int = Field(description="Send it as expected_version with a decision: refused (409) if the lead moved")
    episode: int = Field(description="How many times it has qualified (2 and more: it qualified again)")
    assigned_at: UtcTime | None
    due_at: UtcTime | None = Field(description="The deadline to accept or reject it")
    breaches: int = Field(description="SLA breaches since it last qualified")
    cool_off_until: UtcTime | None = Field(description="A recycled lead may qualify again from then")


def state_view(state: LeadState) -> LeadStateView:
    return LeadStateView(
        stage=state.stage.value,
        since=state.since,
        owner=state.owner,
        team=state.team,
        queue=state.queue,
        version=state.version,
        episode=state.episode,
        assigned_at=state.assigned_at,
        due_at=state.due_at,
        breaches=state.breaches,
        cool_off_until=state.cool_off_until,
    )
