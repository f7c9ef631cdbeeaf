"""The lifecycle stages a lead moves through (the Demand Waterfall, with its exits)."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """Where a lead stands. The values are what the playbook, the CLI and the API say."""

    INQUIRY = "inquiry"
    MQL = "mql"
    PQL = "pql"
    SAL_PENDING = "sal_pending"
    SAL = "sal"
    REJECTED = "rejected"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    WON = "won"
    LOST = "lost"
    RECYCLED = "recycled"
    DISQUALIFIED = "disqualified"


STAGE_NAMES: tuple[str, ...] = tuple(stage.value for stage in Stage)

# Stages a playbook condition can qualify a lead into (fast-track shortcuts go to one of these).
QUALIFYING_STAGES: tuple[str, ...] = (Stage.MQL.value, Stage.PQL.value)
