"""Which leads a playbook could ever pass, and from when: bounds read before any per-checkpoint row.

Building one row per lead and checkpoint is most of the one-pass engine's work, and most leads
never pass, or not for a long time. So each lead first gets upper bounds of its scores:

- ``fit``: the highest fit over the lead's trait states, each paired with every state its
  accounts went through and with no account at all (more pairs than occurred, never fewer);
- a decayed score (``engagement``, ``scores.<name>``): its rules with positive points (the
  others only lower it). A metric's value at checkpoint ``c`` is ``S x 2^(-(c - t0)/h)`` with
  ``S`` the running sum of its amounts (:mod:`.backtest_fast_events`); ``S`` is at most the
  running sum of the positive amounts (row by row: an interval may have several), and between
  two intervals in which something happened the value only decays, so its value at the first
  of them bounds it up to the next (and before the first event it is at most 0): one running
  sum per half-life, whatever the number of rules (their caps left out: a cap lowers). A ``once``
  rule is a decayed amount ``points x 2^((first - t0)/h)`` (counted again at each later
  interval with a match: too much, never too little); an ``at_least`` rule is worth its points
  once the lead has had that many matching events; ``cap_total`` caps the bound;
- ``score``: the fit bound plus the engagement bound.

The stage conditions that pass a lead (mql, pql, shortcuts) are then read with three values
(:func:`possibly`, :func:`surely`): a score against a number may hold when its bound allows it
(``engagement >= 40`` when the bound is at least 40; ``engagement < 40`` always); a test of
anything else (a trait, a product signal, an event clause) may hold and is never sure; ``not``
swaps the two. A lead for which no passing condition may hold at any interval cannot pass at
any checkpoint, so leaving it out changes no pass; nor can a lead pass before the first interval
at which one may, so its rows start there. The bounds are added in another order than the scores, so each
gets a margin (far above rounding, far below any threshold that matters).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import ibis
import ibis.expr.types as ir

from leadgate.analytics.backtest_fast_events import checkpoint_epoch, growth
from leadgate.analytics.backtest_fast_plan import Metric, metrics_of, rule_column
from leadgate.analytics.backtest_fast_state import account_spans, lead_spans
from leadgate.playbook.compiled import ENGAGEMENT, DecayedScore, Playbook
from leadgate.playbook.conditions import ast
from leadgate.playbook.model_scoring import EngagementRule
from leadgate.scoring.engine import left_join, qualify_aggregated, used_traits
from leadgate.scoring.events import SECONDS_PER_DAY, rule_half_life
from leadgate.scoring.moment import Moment, epoch_seconds
from leadgate.store.facts import Facts

Tri: TypeAlias = "ir.BooleanValue | bool"  # True: may hold (unknown); False: cannot hold; else per lead
Highs = Mapping[tuple[str, ...], ir.NumericValue]
RELATIVE_MARGIN, ABSOLUTE_MARGIN = 1e-9, 1e-6


def may_pass(
    facts: Facts, playbook: Playbook, checkpoints: Sequence[dt.datetime], amounts: ir.Table | None
) -> ir.Table | None:
    """``lead_key`` of the leads some passing condition may hold for (None: every lead may pass)."""
    shared = SharedBounds([playbook])
    table = shared.table(facts, checkpoints, amounts)
    return None if table is None else shared.keep(0, table)


@dataclass(frozen=True)
class _Reads:
    """What a playbook's passing conditions read: the index of its fit bound (None: no fit or
    score), and of each decayed score's."""

    conditions: list[ast.Node]
    fit: int | None
    scores: dict[str, int]


class SharedBounds:
    """The bounds of several playbooks in one table, each read once: a fit bound per distinct
    set of fit rules (``fit_<i>``), a score bound per distinct set of decayed rules (``hi_<j>``).

    The fit bounds (from the few trait facts) are read first; the scores' (running sums over
    the amounts) only for the leads some playbook may pass by its fit bound."""

    def __init__(self, playbooks: Sequence[Playbook]) -> None:
        self.fits: dict[str, Playbook] = {}
        self.scores: dict[str, tuple[Mapping[str, Metric], DecayedScore]] = {}
        self.reads = [self._reads(playbook) for playbook in playbooks]

    def _reads(self, playbook: Playbook) -> _Reads:
        conditions = passing_conditions(playbook)
        paths = {ref.path for node in conditions for ref in ast.refs(node)}
        fit = None
        if ("fit",) in paths or ("score",) in paths:
            fit = _index(self.fits, _fit_key(playbook), playbook)
        named = {score.name: score for score in playbook.decayed_scores}
        wanted = {ENGAGEMENT} if ("engagement",) in paths or ("score",) in paths else set()
        wanted |= {path[1] for path in paths if len(path) == 2 and path[0] == "scores" and path[1] in named}
        metrics = metrics_of(playbook)
        scores = {
            name: _index(self.scores, _score_key(metrics, named[name]), (metrics, named[name]))
            for name in sorted(wanted)
        }
        return _Reads(conditions, fit, scores)

    def fit_table(self, facts: Facts, checkpoints: Sequence[dt.datetime]) -> ir.Table | None:
        """``lead_key`` and every fit bound (``fit_<i>``) of the leads some playbook may pass by its
        fit bound (None: no playbook's conditions can rule a lead out, whatever the bounds)."""
        if all(self._free(index) for index in range(len(self.reads))):
            return None
        table = facts.leads().select("lead_key")
        for index, playbook in enumerate(self.fits.values()):
            fits = fit_highs(facts, playbook, checkpoints).rename({f"fit_{index}": "fit_hi"})
            table = left_join(table, fits, "lead_key")
        first = _any([self._possible(index, table, None) for index in range(len(self.reads))])
        return table if first is True else table.filter(_column(first))

    def table(
        self,
        facts: Facts,
        checkpoints: Sequence[dt.datetime],
        amounts: ir.Table | None,
        fits: ir.Table | None = None,
    ) -> ir.Table | None:
        """``lead_key`` and ``from_<i>``: the first checkpoint at which playbook ``i`` may pass the
        lead (null: none), for the leads some playbook may pass by its fit bound (None: no
        playbook's conditions can rule a lead out, whatever the bounds).

        Before its first event a lead's decayed scores are at most 0; from then on, at most their
        bound at the last interval with an event (:func:`score_highs`): the first checkpoint at
        which a playbook may pass the lead is 0 if it may pass it with no points, else the first
        interval at whose bound it may. ``fits``: :meth:`fit_table`, if already read."""
        table = fits if fits is not None else self.fit_table(facts, checkpoints)
        if table is None:
            return None
        playbooks = range(len(self.reads))
        at_start = [self._possible(index, table, lambda _: ibis.literal(0.0)) for index in playbooks]
        starts = {f"start_{index}": found for index, found in enumerate(at_start) if not isinstance(found, bool)}
        table = table.mutate(**starts)  # kept as columns: the table is joined below
        at_start = [
            table[f"start_{index}"] if f"start_{index}" in starts else found for index, found in enumerate(at_start)
        ]
        later: dict[str, ir.Value] = {}
        if self.scores and amounts is not None and not all(found is True for found in at_start):
            amounts = amounts.filter(amounts.lead_key.isin(table.lead_key))
            rows = score_highs(amounts, list(self.scores.values()), checkpoints).join(table, "lead_key")
            for index in playbooks:
                if at_start[index] is not True:
                    found = self._possible(index, rows, lambda score: rows[f"hi_{score}"])
                    where = None if found is True else _column(found)
                    later[f"later_{index}"] = rows.k.min(where=where) if found is not False else ibis.null("int64")
            table = left_join(table, rows.group_by("lead_key").aggregate(**later), "lead_key")
        none = ibis.null("int64")
        starts = {
            f"from_{index}": _first_checkpoint(
                at_start[index], table[f"later_{index}"] if f"later_{index}" in later else none
            )
            for index in playbooks
        }
        return table.select("lead_key", **starts)

    def keep(self, index: int, table: ir.Table) -> ir.Table:
        """``lead_key`` and ``from_k`` (the first checkpoint at which playbook ``index`` may pass
        the lead) of the leads it may pass, from :meth:`table`."""
        start = table[f"from_{index}"]
        return table.filter(start.notnull()).select("lead_key", from_k=start)

    def _free(self, index: int) -> bool:
        """Whether no bound can rule out a lead of playbook ``index``."""
        reads = self.reads[index]
        zero = ibis.literal(0.0)
        highs = dict.fromkeys(
            [("fit",), ("score",), ("engagement",), *(("scores", name) for name in reads.scores)], zero
        )
        return _any([possibly(node, highs) for node in reads.conditions]) is True

    def _possible(self, index: int, table: ir.Table, score_high: Callable[[int], ir.NumericValue] | None) -> Tri:
        """Whether playbook ``index`` may pass each lead of ``table``, from its fit bound there and
        ``score_high(j)``, the bound of decayed score ``j`` (None: the scores are not known)."""
        reads = self.reads[index]
        highs: dict[tuple[str, ...], ir.NumericValue] = {}
        fit = table[f"fit_{reads.fit}"] if reads.fit is not None else None
        if fit is not None:
            highs[("fit",)] = _with_margin(fit)
        if score_high is not None:
            for name, score in reads.scores.items():
                high = score_high(score)
                highs[("engagement",) if name == ENGAGEMENT else ("scores", name)] = _with_margin(high)
                if name == ENGAGEMENT and fit is not None:
                    highs[("score",)] = _with_margin(fit + high)
        return _any([possibly(node, highs) for node in reads.conditions])


def _index(found: dict[str, Any], key: str, value: Any) -> int:
    """The position of ``key`` in ``found``, added with ``value`` if new."""
    found.setdefault(key, value)
    return list(found).index(key)


def _fit_key(playbook: Playbook) -> str:
    """What a fit bound depends on: equal for two playbooks with the same fit rules."""
    rules = [(rule.rule.when.node, float(rule.rule.points)) for rule in playbook.rules_of("fit")]  # type: ignore[union-attr]
    lead, account = used_traits(playbook)
    return repr((rules, sorted(playbook.lists.items()), sorted(lead.items()), sorted(account.items())))


def _score_key(metrics: Mapping[str, Metric], score: DecayedScore) -> str:
    """What a decayed score's bound depends on (see :func:`score_highs`)."""
    rules = []
    for scored in score.rules:
        rule = scored.rule
        assert isinstance(rule, EngagementRule)
        half_life = rule_half_life(rule, score.half_life_days)
        rules.append(
            (
                metrics[rule_column(scored)].column,
                float(rule.points),
                rule.is_threshold,
                rule.at_least,
                rule.once,
                half_life,
            )
        )
    return repr((score.cap_total, rules))


def passing_conditions(playbook: Playbook) -> list[ast.Node]:
    """The conditions any of which passes a lead: mql, pql and the shortcuts (not sql)."""
    return [condition.node for name, condition in playbook.stage_conditions().items() if name != "sql"]


def possibly(node: ast.Node, highs: Highs) -> Tri:
    """Whether the condition may hold for a lead whose bounded values stay at or below ``highs``."""
    if isinstance(node, ast.And):
        return _all([possibly(item, highs) for item in node.items])
    if isinstance(node, ast.Or):
        return _any([possibly(item, highs) for item in node.items])
    if isinstance(node, ast.Not):
        return _not(surely(node.item, highs))
    return _atom(node, highs, may=True)


def surely(node: ast.Node, highs: Highs) -> Tri:
    """Whether the condition holds for every value at or below ``highs``."""
    if isinstance(node, ast.And):
        return _all([surely(item, highs) for item in node.items])
    if isinstance(node, ast.Or):
        return _any([surely(item, highs) for item in node.items])
    if isinstance(node, ast.Not):
        return _not(possibly(node.item, highs))
    return _atom(node, highs, may=False)


def _atom(node: ast.Node, highs: Highs, may: bool) -> Tri:
    """A test of a bounded value against a number, from its bound; anything else is unknown."""
    if isinstance(node, ast.Compare) and node.left.path in highs:
        value = node.right.value
        if isinstance(value, float) and not isinstance(value, bool):
            high = highs[node.left.path]
            if may:
                return {">=": high >= value, "==": high >= value, ">": high > value}.get(node.op, True)
            return {"<": high < value, "<=": high <= value, "!=": high < value}.get(node.op, False)
    if isinstance(node, ast.Between) and node.operand.path in highs and may:
        return highs[node.operand.path] >= float(node.low.value)
    return may


def _all(items: list[Tri]) -> Tri:
    return _fold(items, absorbing=False, combine=operator.and_)


def _any(items: list[Tri]) -> Tri:
    return _fold(items, absorbing=True, combine=operator.or_)


def _fold(items: list[Tri], absorbing: bool, combine: Callable[[Tri, Tri], Tri]) -> Tri:
    """``and`` (absorbing False) or ``or`` (absorbing True) of known truths and columns."""
    if any(item is absorbing for item in items):
        return absorbing
    found = [item for item in items if item is not (not absorbing)]
    return functools.reduce(combine, found) if found else not absorbing


def _not(item: Tri) -> Tri:
    return (not item) if isinstance(item, bool) else ~item


def _column(found: Tri) -> ir.BooleanValue:
    """A condition's truth as a filter: a lead it may hold for stays (unknown counts as may)."""
    return ibis.literal(found) if isinstance(found, bool) else found.fill_null(True)  # type: ignore[union-attr,return-value]


def _first_checkpoint(at_start: Tri, later: ir.Value) -> ir.Value:
    """0 when a playbook may pass the lead with no points, else the first interval it may at."""
    if at_start is True:
        return ibis.literal(0, "int64")
    if at_start is False:
        return later
    return ibis.ifelse(_column(at_start), 0, later)


def _with_margin(value: ir.NumericValue) -> ir.NumericValue:
    return value + value.abs() * RELATIVE_MARGIN + ABSOLUTE_MARGIN  # type: ignore[return-value]


def fit_highs(facts: Facts, playbook: Playbook, checkpoints: Sequence[dt.datetime]) -> ir.Table:
    """``lead_key``, ``fit_hi``: the highest fit over each lead's trait states and its accounts'."""
    lead_traits, account_traits = used_traits(playbook)
    spans = lead_spans(facts, lead_traits, {}, checkpoints, None)
    accounts = account_spans(facts, account_traits, checkpoints).drop("k", "next_k")
    accounts = accounts.rename(account_at="account_id")
    traits = [name for name in accounts.columns if name != "account_at"]
    known = spans.inner_join(accounts, spans.account_id == accounts.account_at)
    known = known.select("lead_key", *lead_traits_of(spans), *traits)
    unknown = spans.select(
        "lead_key", *lead_traits_of(spans), **{name: ibis.null(accounts[name].type()) for name in traits}
    )
    pairs = known.union(unknown, distinct=False)
    origin = epoch_seconds(checkpoints[0])
    at = ibis.literal(checkpoints[0])
    moment = Moment(at=at, epoch=ibis.literal(origin, "int64"), span=None, stamp=at)  # type: ignore[arg-type]
    metrics = metrics_of(playbook)
    empty = {name: ibis.null("int64" if metric.kind == "first" else "float64") for name, metric in metrics.items()}
    clauses = {clause: f"w_{index}" for index, clause in enumerate(playbook.all_event_clauses())}
    scored = qualify_aggregated(pairs.mutate(**empty), playbook, moment, clauses)
    return scored.group_by("lead_key").aggregate(fit_hi=scored.fit.max())


def lead_traits_of(spans: ir.Table) -> list[str]:
    return [name for name in spans.columns if name.startswith("lead__")]


def score_highs(
    amounts: ir.Table,
    entries: Sequence[tuple[Mapping[str, Metric], DecayedScore]],
    checkpoints: Sequence[dt.datetime],
) -> ir.Table:
    """``lead_key``, ``k`` and ``hi_<j>`` for each lead and interval with an event: a bound of
    decayed score ``entries[j]`` (with the metrics of its playbook) at every checkpoint from
    ``k`` to the lead's next such interval."""
    origin = epoch_seconds(checkpoints[0])
    flows: dict[tuple[int, float | None], ir.Value] = {}  # by entry and half-life
    constants: dict[int, list[tuple[str, float, int | None]]] = {index: [] for index in range(len(entries))}
    for index, (metrics, score) in enumerate(entries):
        for scored in score.rules:
            rule = scored.rule
            assert isinstance(rule, EngagementRule)
            points = float(rule.points)
            if points <= 0:
                continue  # a rule with negative points only lowers the score
            name = metrics[rule_column(scored)].column
            half_life = None if rule.is_threshold else rule_half_life(rule, score.half_life_days)
            if rule.is_threshold or (rule.once and half_life is None):
                constants[index].append((name, points, rule.at_least or 1 if rule.is_threshold else None))
                continue
            column = amounts[name]
            if rule.once:
                amount = ibis.ifelse(column.isnull(), 0.0, growth(column, origin, half_life) * points)
            else:
                amount = column.fill_null(0.0).clip(lower=0.0) * points
            key = (index, half_life)
            flows[key] = flows[key] + amount if key in flows else amount
    names = {key: f"g_{number}" for number, key in enumerate(flows)}
    kept = sorted({name for found in constants.values() for name, _, _ in found})
    rows = amounts.select("lead_key", "k", *kept, **{names[key]: flow for key, flow in flows.items()})
    running = ibis.cumulative_window(group_by=rows.lead_key, order_by=rows.k)
    sums = {name: rows[name].sum().over(running) for name in names.values()}
    ever = {f"n_{name}": rows[name].clip(lower=0.0).sum().over(running) for name in kept}
    ever |= {f"c_{name}": rows[name].count().over(running) for name in kept}
    rows = rows.select("lead_key", "k", **sums, **ever)
    epoch = checkpoint_epoch(rows.k, list(checkpoints))
    totals: dict[str, ir.Value] = {}
    for index, (_, score) in enumerate(entries):
        parts = [
            rows[name] * _decay(epoch, origin, half_life)
            for (owner, half_life), name in names.items()
            if owner == index
        ]
        for name, points, at_least in constants[index]:
            seen = rows[f"n_{name}"] >= at_least if at_least is not None else rows[f"c_{name}"] > 0
            parts.append(ibis.ifelse(seen, points, 0.0))
        total = functools.reduce(operator.add, parts) if parts else ibis.literal(0.0)  # no parts: negative only
        totals[f"hi_{index}"] = ibis.least(total, score.cap_total) if score.cap_total is not None else total
    return rows.select("lead_key", "k", **totals)


def _decay(epoch: ir.IntegerValue, origin: int, half_life: float | None) -> ir.Value:
    """``2^(-(epoch - origin) / half-life)`` (1 without a half-life), as the engine decays a running sum."""
    if half_life is None:
        return ibis.literal(1.0)
    rate = -math.log(2) / (half_life * SECONDS_PER_DAY)
    return ((epoch - origin) * rate).exp()
