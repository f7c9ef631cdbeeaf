"""What the CLI shows of scores: the lead rows, the leads table, the stage counts."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel
from rich.table import Table

from leadgate.cli.output import number
from leadgate.domain.stages import STAGE_NAMES
from leadgate.errors import UserError
from leadgate.playbook.compiled import Playbook
from leadgate.scoring.engine import ACCOUNT_PREFIX, score_column
from leadgate.service.moments import scores_with_state
from leadgate.service.scoring import SCORES_TABLE
from leadgate.store.base import Store


class LeadScore(BaseModel):
    lead_id: str
    account_id: str | None
    account_name: str | None
    fit: float
    engagement: float
    score: float
    stage: str  # where the lead stands in the lifecycle
    qualifies_as: str  # where its conditions point: inquiry, mql or pql
    owner: str | None
    scores: dict[str, float]
    product: dict[str, int]
    account_score: float | None
    account_coverage: int | None
    as_of: dt.datetime
    playbook_version: int


def with_lifecycle(store: Store) -> ir.Table:
    """The latest scores with each lead's lifecycle stage and owner (``inquiry`` if it never moved)."""
    joined = scores_with_state(store)
    return joined.mutate(stage=joined.stage.fill_null("inquiry"))


def stage_counts(store: Store) -> dict[str, int]:
    scores = with_lifecycle(store)
    counts = scores.group_by("stage").aggregate(leads=scores.count()).to_pyarrow().to_pylist()
    found = {row["stage"]: int(row["leads"]) for row in counts}
    return {stage: found[stage] for stage in STAGE_NAMES if stage in found}


def scored_leads(store: Store, playbook: Playbook, stage: str | None, top: int) -> list[LeadScore]:
    """The best-scored leads (of one stage), highest score first."""
    if not store.has_table(SCORES_TABLE):
        raise UserError("no scores yet: run 'leadgate score' first")
    scores = with_lifecycle(store)
    if stage is not None:
        scores = scores.filter(scores.stage == stage)
    rows = scores.order_by([ibis.desc("score"), "lead_id"]).limit(top).to_pyarrow().to_pylist()
    return [_lead_score(row, playbook) for row in rows]


def _lead_score(row: dict[str, Any], playbook: Playbook) -> LeadScore:
    named = [score.name for score in playbook.decayed_scores[1:] if score_column(score.name) in row]
    product = playbook.model.scoring.product
    coverage = row.get("account_coverage")
    return LeadScore(
        lead_id=row["lead_id"],
        account_id=row.get("account_id"),
        account_name=row.get(f"{ACCOUNT_PREFIX}name"),
        fit=row["fit"],
        engagement=row["engagement"],
        score=row["score"],
        stage=row["stage"],
        qualifies_as=row["qualifies_as"],
        owner=row.get("owner"),
        scores={name: row[score_column(name)] for name in named},
        product={name: int(row[f"product_{name}"]) for name in product.signals if f"product_{name}" in row}
        if product
        else {},
        account_score=row.get("account_score"),
        account_coverage=None
        if coverage is None or (isinstance(coverage, float) and math.isnan(coverage))
        else int(coverage),
        as_of=row["as_of"],
        playbook_version=row["playbook_version"],
    )


def leads_table(rows: list[LeadScore]) -> Table:
    table = Table(title=f"Top {len(rows)} leads (as of {rows[0].as_of:%Y-%m-%d %H:%M} UTC)", title_justify="left")
    for column, justify in (
        ("lead", "left"),
        ("account", "left"),
        ("fit", "right"),
        ("engagement", "right"),
        ("score", "right"),
        ("stage", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(
            row.lead_id,
            row.account_name or row.account_id or "-",
            number(row.fit),
            number(row.engagement),
            number(row.score),
            row.stage,
        )
    return table
