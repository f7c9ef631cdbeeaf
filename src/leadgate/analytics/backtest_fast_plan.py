"""What the backtest's one-pass engine must sum per lead and checkpoint, and what it cannot express.

The one-pass engine (:mod:`leadgate.analytics.backtest_fast`) reads each event once and gives
it to the checkpoints that see it: every per-lead figure of a playbook is a running sum (or a
running minimum) over checkpoint intervals. A :class:`Metric` is one such figure: an event
filter, a half-life and a trailing window. Two playbooks that count the same thing share the
metric, so the events are read once for both.

Constructs that are not running sums are listed by :func:`obstacles`; a playbook with any of
them is replayed by the per-checkpoint engine instead (docs/backtest.md lists them too).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from typing import Literal

from leadgate.playbook.compiled import Playbook, ScoredRule
from leadgate.playbook.conditions import ast
from leadgate.playbook.model_scoring import EngagementRule
from leadgate.scoring.engine import uses_prediction
from leadgate.scoring.events import SECONDS_PER_DAY, rule_half_life
from leadgate.scoring.moment import epoch_seconds

MetricKind = Literal["sum", "first", "daily"]
# 2^(t / half-life) must stay a finite double for every event of the window, summed over many
# events: 900 half-lives leave a margin of 2^120 below the largest double.
MOST_HALF_LIVES = 900
ROLLUPS = ("score", "fit", "coverage")


@dataclass(frozen=True)
class Metric:
    """One per-lead running figure.

    - ``sum``: the matched events, each worth ``2^((t - t0) / half-life)`` (1 without decay),
      those older than ``window`` seconds left out;
    - ``first``: the epoch of the earliest matched event (``once`` rules);
    - ``daily``: ``max_per_day`` rules: per local day ``min(events, cap) x 2^((last - t0) / half-life)``.
    """

    kind: MetricKind
    events: tuple[str, ...]
    where: ast.Node | None
    lists: tuple[tuple[str, tuple[str | float, ...]], ...]  # the named lists ``where`` reads
    half_life_days: float | None = None
    window_seconds: int | None = None
    max_per_day: int | None = None
    timezone: str | None = None

    @property
    def column(self) -> str:
        """A column name that is the same for equal metrics of different playbooks."""
        return "m_" + hashlib.sha1(repr(self).encode()).hexdigest()[:12]


def _lists(playbook: Playbook, where: ast.Node | None) -> tuple[tuple[str, tuple[str | float, ...]], ...]:
    if where is None:
        return ()
    names = {
        node.items.name
        for node in ast.walk(where)
        if isinstance(node, ast.InList) and isinstance(node.items, ast.NamedList)
    }
    return tuple((name, tuple(playbook.lists[name])) for name in sorted(names))


def rule_metric(playbook: Playbook, scored: ScoredRule, score_half_life: float | None) -> Metric:
    """The metric an engagement rule reads (its ``n_``, ``f_``, ``d_`` or ``s_`` column)."""
    rule = scored.rule
    assert isinstance(rule, EngagementRule)
    where = rule.where.node if rule.where else None
    lists = _lists(playbook, where)
    window = rule.within_days * SECONDS_PER_DAY if rule.within_days is not None else None
    half_life = rule_half_life(rule, score_half_life)
    if rule.is_threshold:
        return Metric("sum", (rule.event,), where, lists, None, window)
    if rule.once:
        return Metric("first", (rule.event,), where, lists)
    if rule.max_per_day is not None:
        return Metric("daily", (rule.event,), where, lists, half_life, None, rule.max_per_day, playbook.model.timezone)
    return Metric("sum", (rule.event,), where, lists, half_life, window)


def rule_column(scored: ScoredRule) -> str:
    """The name :class:`~leadgate.scoring.events.EventPlan` gives a rule's aggregate."""
    rule = scored.rule
    assert isinstance(rule, EngagementRule)
    if rule.is_threshold:
        return f"n_{scored.id}"
    if rule.once:
        return f"f_{scored.id}"
    if rule.max_per_day is not None:
        return f"d_{scored.id}"
    return f"s_{scored.id}"


def clause_metric(playbook: Playbook, clause: ast.EventClause) -> Metric:
    """The count of an ``event ... within ...`` clause of a condition."""
    return Metric("sum", (clause.event,), clause.where, _lists(playbook, clause.where), None, clause.within_seconds)


def metrics_of(playbook: Playbook) -> dict[str, Metric]:
    """Every metric of a playbook, by the column name the scoring engine reads it under."""
    found: dict[str, Metric] = {}
    for score in playbook.decayed_scores:
        for scored in score.rules:
            found[rule_column(scored)] = rule_metric(playbook, scored, score.half_life_days)
    product = playbook.model.scoring.product
    if product is not None:
        window = product.window_days * SECONDS_PER_DAY
        for name, signal in product.signals.items():
            where = signal.where.node if signal.where else None
            events = tuple(sorted(signal.events))
            found[f"product_{name}"] = Metric("sum", events, where, _lists(playbook, where), None, window)
    for index, clause in enumerate(playbook.all_event_clauses()):
        found[f"w_{index}"] = clause_metric(playbook, clause)
    return found


def obstacles(playbook: Playbook, checkpoints: list[dt.datetime]) -> list[str]:
    """What in the playbook the one-pass engine cannot replay (empty: it can), one line each."""
    found: list[str] = []
    if uses_prediction(playbook):
        found.append("a condition reads p_convert")
    conditions = [condition.node for condition in playbook.stage_conditions().values()]
    conditions += [rule.when.node for rule in playbook.model.routing if rule.when is not None]
    conditions += [rule.rule.when.node for rule in playbook.rules_of("fit")]  # type: ignore[union-attr]
    if any(_reads_rollup(node) for node in conditions):
        found.append("a condition reads an account roll-up (account.score, account.fit or account.coverage)")
    product = playbook.model.scoring.product
    if product is not None:
        for name, signal in product.signals.items():
            if signal.count != "events":
                found.append(f"product signal {name} counts {signal.count}")
    span_days = (epoch_seconds(checkpoints[-1]) - epoch_seconds(checkpoints[0])) / SECONDS_PER_DAY
    for score in playbook.decayed_scores:
        for scored in score.rules:
            rule = scored.rule
            assert isinstance(rule, EngagementRule)
            if rule.within_days is not None and (rule.once or rule.max_per_day is not None):
                found.append(f"rule {scored.id}: {'once' if rule.once else 'max_per_day'} with within_days")
            half_life = rule_half_life(rule, score.half_life_days)
            if half_life is not None and span_days / half_life > MOST_HALF_LIVES:
                found.append(
                    f"rule {scored.id}: a half-life of {half_life:g} days over a window of "
                    f"{math.ceil(span_days)} days (at most {MOST_HALF_LIVES} half-lives)"
                )
    return found


def _reads_rollup(node: ast.Node) -> bool:
    return any(len(ref.path) == 2 and ref.path[0] == "account" and ref.path[1] in ROLLUPS for ref in ast.refs(node))
