"""Why a lead has its score, in numbers and in words.

An :class:`Explanation` is built from one scored row (the engine's ``c_`` columns) and the
evidence of the lead's events (how many matched each rule, and when the last did). Its
``contributions`` add up to ``score``: fit rules, engagement rules and the engagement cap.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from pydantic import BaseModel

from leadgate.domain.times import UtcTime
from leadgate.playbook.compiled import ENGAGEMENT, Playbook, ScoredRule
from leadgate.playbook.model_scoring import EngagementRule
from leadgate.scoring.engine import ACCOUNT_PREFIX, cap_column, score_column
from leadgate.scoring.events import rule_half_life


class Contribution(BaseModel):
    rule: str
    label: str
    score: str
    points: float
    events: int | None = None
    last_event_at: UtcTime | None = None
    why: str


class NamedScore(BaseModel):
    score: float
    contributions: list[Contribution]


class AccountView(BaseModel):
    account_id: str
    name: str | None
    score: float | None
    fit: float | None
    coverage: int | None


class Explanation(BaseModel):
    lead_id: str
    as_of: UtcTime
    playbook: str
    playbook_version: int
    stage: str  # where the lead stands in the lifecycle
    qualifies_as: str  # where its conditions point (inquiry, mql, pql)
    fit: float
    engagement: float
    score: float
    contributions: list[Contribution]
    named_scores: dict[str, NamedScore]
    product: dict[str, int]
    account: AccountView | None
    qualifies: dict[str, bool]


def build_explanation(
    playbook: Playbook, row: dict[str, Any], evidence: dict[str, Any], as_of: dt.datetime, stage: str
) -> Explanation:
    """Assemble the explanation of one scored row (see the module docstring)."""
    main: list[Contribution] = []
    named: dict[str, NamedScore] = {}
    for rule in playbook.rules_of("fit"):
        points = _number(row[rule.column])
        if points:
            condition = rule.rule.when  # type: ignore[union-attr]
            main.append(
                Contribution(rule=rule.id, label=rule.label, score="fit", points=points, why=f"{condition} holds")
            )
    for score in playbook.decayed_scores:
        items = []
        for rule in score.rules:
            points = _number(row[rule.column])
            if points:
                items.append(_engagement_contribution(rule, score.half_life_days, points, evidence))
        adjustment = _number(row[cap_column(score.name)])
        if adjustment:
            items.append(
                Contribution(
                    rule=f"{score.name}_cap",
                    label=f"{score.name.replace('_', ' ')} cap",
                    score=score.name,
                    points=adjustment,
                    why=f"{score.name.replace('_', ' ')} never exceeds {_show(score.cap_total or 0)}",
                )
            )
        if score.name == ENGAGEMENT:
            main.extend(items)
        else:
            named[score.name] = NamedScore(score=_number(row[score_column(score.name)]), contributions=items)
    product = playbook.model.scoring.product
    account = None
    if row.get("account_id") is not None:
        account = AccountView(
            account_id=row["account_id"],
            name=row.get(f"{ACCOUNT_PREFIX}name"),
            score=_optional(row.get("account_score")),
            fit=_optional(row.get("account_fit")),
            coverage=None if _optional(row.get("account_coverage")) is None else int(row["account_coverage"]),
        )
    return Explanation(
        lead_id=row["lead_id"],
        as_of=as_of,
        playbook=playbook.name,
        playbook_version=playbook.version,
        stage=stage,
        qualifies_as=row["qualifies_as"],
        fit=_number(row["fit"]),
        engagement=_number(row["engagement"]),
        score=_number(row["score"]),
        contributions=main,
        named_scores=named,
        product={name: int(row[f"product_{name}"]) for name in product.signals} if product else {},
        account=account,
        qualifies={name: bool(row[f"q_{name}"]) for name in playbook.stage_conditions()},
    )


def _engagement_contribution(
    scored: ScoredRule, score_half_life: float | None, points: float, evidence: dict[str, Any]
) -> Contribution:
    rule = scored.rule
    assert isinstance(rule, EngagementRule)
    count = int(evidence.get(f"k_{scored.id}") or 0)
    last = evidence.get(f"t_{scored.id}")
    events = f"{count} {rule.event.replace('_', ' ')} event{'s' if count != 1 else ''}"
    if rule.is_threshold:
        why = f"{events} in the last {rule.within_days} days (needs {rule.at_least})"
    else:
        points_word = f"{_show(rule.points)} point{'' if abs(rule.points) == 1 else 's'}"
        parts = [events, f"{points_word} each"]
        if rule.once:
            parts[1] = f"{points_word}, counted once (the first)"
        if rule.max_per_day is not None:
            parts.append(f"at most {rule.max_per_day} a day")
        if rule.within_days is not None:
            parts.append(f"only the last {rule.within_days} days count")
        half_life = rule_half_life(rule, score_half_life)
        if half_life is not None:
            parts.append(f"halving every {_show(half_life)} days")
        if rule.cap is not None and math.isclose(abs(points), rule.cap):
            parts.append(f"capped at {_show(rule.cap)}")
        why = ", ".join(parts)
    return Contribution(
        rule=scored.id,
        label=scored.label,
        score=scored.score,
        points=points,
        events=count,
        last_event_at=last,
        why=why,
    )


def _number(value: Any) -> float:
    number = float(value or 0.0)
    return 0.0 if number == 0 else number  # no "-0.0" in reports


def _optional(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _show(number: float) -> str:
    return f"{number:g}"
