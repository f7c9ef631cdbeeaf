"""Rule and reason feedback (``leadgate tune``): which rules bring leads that sales accepts and
that convert, why leads are rejected, and what the points of each rule could be.

Per rule, over the qualification episodes in which it applied at the moment the lead qualified
(its points were not 0: a penalty counts too, so a negative rule shows how the MQLs it took
points from fared): ``mqls``; ``acceptance_rate`` (accepted / accepted or rejected in the episode);
``sql_rate`` and ``won_rate`` (share of the episodes that reached SQL or beyond, and won); and
``lift`` (the rule's ``sql_rate`` over the base rate of all episodes).

Suggested points come from an L2-regularised logistic regression of ``converted`` (the episode's
label) on which rules applied, over the closed episodes. A coefficient is log-odds, not
points: it is rescaled so that the mean size of the suggested points equals that of the
current points of the rules learnt. Each suggestion's expected effect re-evaluates the MQL
condition on the recorded MQL episodes with that rule's contribution scaled by new / old points
(possible when the condition reads only ``fit``, ``engagement`` and ``score``; episodes the
condition did not qualify, such as a shortcut's, stay as they are). It can only show the MQLs a
change would lose, never those it would add (leads that never qualified recorded no points):
backtest the changed playbook for that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import cast

import ibis
import numpy as np
import pandas as pd
from pydantic import BaseModel

from leadgate.analytics.feedback_data import episodes, rejections
from leadgate.playbook.compiled import Playbook, ScoredRule
from leadgate.playbook.conditions import ast
from leadgate.scoring.conditions import ConditionCompiler
from leadgate.store.base import Store

MIN_EPISODES = 20  # closed episodes needed to learn points at all
MIN_HITS = 5  # episodes a rule must have given points in to get a suggestion
READABLE = ("fit", "engagement", "score")
Evaluator = Callable[[pd.DataFrame], np.ndarray]


class RuleFeedback(BaseModel):
    rule: str
    label: str
    points: float
    mqls: int
    acceptance_rate: float | None
    sql_rate: float | None
    won_rate: float | None
    lift: float | None


class ReasonCount(BaseModel):
    by: str  # source, campaign, rep or rule
    value: str
    reason: str
    count: int


class Suggestion(BaseModel):
    rule: str
    points: float
    suggested: float
    coefficient: float
    mql_volume: int | None  # MQL episodes that would still qualify (None: the condition cannot be re-evaluated)
    mql_volume_change: float | None  # relative to the recorded MQL episodes
    precision: float | None  # converted / closed among the episodes that would still qualify
    precision_now: float | None


class TuneReport(BaseModel):
    as_of: dt.datetime
    playbook_version: int | None  # only the episodes that qualified under this version (None: all)
    episodes: int
    closed: int
    base_sql_rate: float | None
    rules: list[RuleFeedback]
    reasons: list[ReasonCount]
    suggestions: list[Suggestion]
    notes: list[str]


def tune(store: Store, playbook: Playbook, as_of: dt.datetime, version: int | None = None) -> TuneReport:
    """The whole feedback as of ``as_of`` (facts recorded later are not read), over the episodes
    that qualified under playbook ``version`` (None: every episode)."""
    frame = episodes(store, playbook, as_of)
    if version is not None:
        frame = frame[frame["playbook_version"] == version].reset_index(drop=True)
    base = _rate(frame["sql"])
    rules = [_rule_feedback(rule, frame, base) for rule in playbook.rules]
    reasons = _reasons(rejections(store, frame, as_of)) if len(frame) else []
    suggestions, notes = _suggestions(store, playbook, frame)
    return TuneReport(
        as_of=as_of,
        playbook_version=version,
        episodes=len(frame),
        closed=int(frame["converted"].notna().sum()) if len(frame) else 0,
        base_sql_rate=base,
        rules=rules,
        reasons=reasons,
        suggestions=suggestions,
        notes=notes,
    )


def _rate(flags: pd.Series) -> float | None:
    return None if len(flags) == 0 else round(float(flags.astype(bool).mean()), 4)


def _hits(frame: pd.DataFrame, rule: str) -> pd.Series:
    """Whether the rule applied in each episode (gave or took points)."""
    return pd.Series([points.get(rule, 0.0) != 0 for points in frame["points"]], index=frame.index, dtype=bool)


def _rule_feedback(rule: ScoredRule, frame: pd.DataFrame, base: float | None) -> RuleFeedback:
    chosen = frame[_hits(frame, rule.id)] if len(frame) else frame
    decided = chosen[chosen["accepted"] | chosen["rejected"]] if len(chosen) else chosen
    sql_rate = _rate(chosen["sql"]) if len(chosen) else None
    return RuleFeedback(
        rule=rule.id,
        label=rule.label,
        points=float(rule.rule.points),
        mqls=len(chosen),
        acceptance_rate=_rate(decided["accepted"]) if len(decided) else None,
        sql_rate=sql_rate,
        won_rate=_rate(chosen["won"]) if len(chosen) else None,
        lift=round(sql_rate / base, 4) if sql_rate is not None and base else None,
    )


def _reasons(rejects: pd.DataFrame) -> list[ReasonCount]:
    found: list[ReasonCount] = []
    for by in ("source", "campaign", "rep"):
        counts = rejects.fillna({by: "(none)"}).groupby([by, "reason"]).size()
        found += [_count(by, key, n) for key, n in counts.items()]
    by_rule = rejects.explode("rules").dropna(subset=["rules"]).groupby(["rules", "reason"]).size()
    found += [_count("rule", key, n) for key, n in by_rule.items()]
    return sorted(found, key=lambda item: (item.by, -item.count, item.value, item.reason))


def _count(by: str, key: object, count: object) -> ReasonCount:
    value, reason = cast(tuple[str, str], key)
    return ReasonCount(by=by, value=str(value), reason=str(reason), count=int(cast(int, count)))


def _suggestions(store: Store, playbook: Playbook, frame: pd.DataFrame) -> tuple[list[Suggestion], list[str]]:
    from sklearn.linear_model import LogisticRegression  # loads on demand: most commands never need it

    closed = frame[frame["converted"].notna()] if len(frame) else frame
    rules = [rule for rule in playbook.rules if len(closed) and _hits(closed, rule.id).sum() >= MIN_HITS]
    labels = closed["converted"].astype(bool) if len(closed) else pd.Series(dtype=bool)
    if len(closed) < MIN_EPISODES or not rules or labels.nunique() < 2:
        return [], [
            f"no suggested points: they need at least {MIN_EPISODES} closed episodes with both outcomes and rules "
            f"that applied in {MIN_HITS} of them (found {len(closed)} closed episodes)"
        ]
    hits = np.column_stack([_hits(closed, rule.id).to_numpy(dtype=float) for rule in rules])
    model = LogisticRegression(C=1.0, max_iter=1000).fit(hits, labels.to_numpy())
    coefficients = model.coef_[0]
    current = np.array([abs(float(rule.rule.points)) for rule in rules])
    scale = current.mean() / max(float(np.abs(coefficients).mean()), 1e-9)
    reevaluate = _mql_evaluator(store, playbook)
    notes = [] if reevaluate else ["the MQL condition reads more than fit, engagement and score: effects not computed"]
    suggestions = []
    for rule, coefficient in zip(rules, coefficients, strict=True):
        suggested = round(float(coefficient) * scale)
        suggestions.append(_effect(rule, suggested, float(coefficient), frame, reevaluate))
    return suggestions, notes


def _effect(
    rule: ScoredRule, suggested: float, coefficient: float, frame: pd.DataFrame, reevaluate: Evaluator | None
) -> Suggestion:
    mqls = frame[frame["stage"] == "mql"]
    now = _precision(mqls)
    if reevaluate is None or not len(mqls):
        return Suggestion(
            rule=rule.id,
            points=float(rule.rule.points),
            suggested=suggested,
            coefficient=round(coefficient, 4),
            mql_volume=None,
            mql_volume_change=None,
            precision=None,
            precision_now=now,
        )
    old = float(rule.rule.points)
    given = np.array([points.get(rule.id, 0.0) for points in mqls["points"]])
    delta = given * (suggested / old - 1.0) if old else np.zeros(len(mqls))
    column = "fit" if rule.section == "fit" else "engagement"
    adjusted = mqls.assign(**{column: mqls[column].fillna(0.0) + delta})
    adjusted = adjusted.assign(score=adjusted["fit"].fillna(0.0) + adjusted["engagement"].fillna(0.0))
    stays = mqls[reevaluate(adjusted) | ~reevaluate(mqls)]  # a shortcut's MQLs do not hang on the condition
    return Suggestion(
        rule=rule.id,
        points=old,
        suggested=suggested,
        coefficient=round(coefficient, 4),
        mql_volume=len(stays),
        mql_volume_change=round(len(stays) / len(mqls) - 1.0, 4),
        precision=_precision(stays),
        precision_now=now,
    )


def _precision(chosen: pd.DataFrame) -> float | None:
    closed = chosen[chosen["converted"].notna()]
    return None if not len(closed) else round(float(closed["converted"].astype(bool).mean()), 4)


def _mql_evaluator(store: Store, playbook: Playbook) -> Evaluator | None:
    """A function from episodes (fit, engagement, score columns) to whether the MQL condition
    holds, or None when the condition reads anything else."""
    node = playbook.model.stages.mql.when.node
    if any(ref.path[0] not in READABLE for ref in ast.refs(node)) or ast.event_clauses(node):
        return None

    def holds(frame: pd.DataFrame) -> np.ndarray:
        table = ibis.memtable(frame[list(READABLE)].astype(float).reset_index(drop=True).assign(row=lambda f: f.index))
        compiler = ConditionCompiler(resolve=lambda ref: table[ref.path[0]], lists=playbook.lists)
        result = table.select("row", holds=compiler.compile(node).fill_null(False)).order_by("row")
        return store.backend.to_pyarrow(result)["holds"].to_numpy(zero_copy_only=False).astype(bool)

    return holds
