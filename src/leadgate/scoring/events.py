"""Per-lead aggregates of events: the raw material of engagement, product signals and
windowed conditions.

One pass over the events computes, per lead, every filtered sum and count the playbook needs
(``SUM(...) FILTER (WHERE ...)`` on DuckDB). Rules with ``max_per_day`` need the events
grouped by local day first; they get a second, smaller pass.

How a rule's points are derived (docs/scoring.md says the same in words):

- each event gives ``points x 2^(-age / half-life)`` (age in whole seconds), or ``points``
  without decay;
- ``once``: only the earliest event counts;
- ``max_per_day: k``: a local day gives ``points x min(events that day, k)``, aged from the
  day's last event;
- ``at_least: N, within_days: W``: ``points`` (no decay) when N or more events fell in the
  last W days;
- ``within_days`` alone: only events of the last W days count.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import operator
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from leadgate.playbook.compiled import Playbook, ScoredRule
from leadgate.playbook.conditions import ast
from leadgate.playbook.model_scoring import EngagementRule, ProductSignal
from leadgate.scoring.conditions import ConditionCompiler
from leadgate.scoring.localtime import local_day
from leadgate.scoring.moment import Moment, fixed_moment
from leadgate.scoring.text_values import folded_case
from leadgate.store.facts import PROMOTED_PROPERTIES, Facts

SECONDS_PER_DAY = 86_400
# What the rules, signals and windows read of an event (its name, time and properties), and
# nothing else: PostgreSQL keeps every column it is handed when it materialises the events
# that several aggregates share (an incremental scoring of 39,000 leads and their 564,000
# events: 3.4 s instead of 3.7 without the ids and the time received).
SCORED_EVENT_COLUMNS = ("lead_key", "event", "ts", "properties", *PROMOTED_PROPERTIES.values())


def decay_factor(age_seconds: ir.NumericValue, half_life_days: float | None) -> ir.NumericValue:
    """``2^(-age / half-life)``, or 1 without a half-life.

    In floating point on every engine: PostgreSQL reads a decimal literal as NUMERIC, and its
    ``exp`` of a NUMERIC took 74 of the 506 ms of an incremental scoring of 6,400 leads.
    """
    if half_life_days is None:
        return ibis.literal(1.0)  # type: ignore[return-value]
    return (age_seconds.cast("float64") * (-math.log(2) / (half_life_days * SECONDS_PER_DAY))).exp()


def rule_half_life(rule: EngagementRule, score_half_life: float | None) -> float | None:
    """The half-life a rule decays with (None: no decay)."""
    if not rule.decay or rule.is_threshold:
        return None
    return rule.half_life_days if rule.half_life_days is not None else score_half_life


@dataclass(frozen=True)
class EventAggregates:
    """The per-lead aggregate tables and the names of their columns."""

    main: ir.Table  # lead_key + one column per metric
    daily: ir.Table | None  # lead_key + one column per max_per_day rule
    clauses: dict[ast.EventClause, str]  # windowed condition -> its count column


class EventPlan:
    """Builds the aggregate expressions of one playbook, as of one moment."""

    def __init__(
        self,
        playbook: Playbook,
        facts: Facts,
        as_of: dt.datetime | Moment,
        engagement_since: ir.Table | None = None,
    ) -> None:
        self.playbook = playbook
        self.facts = facts
        self.moment = fixed_moment(as_of)
        self.as_of_epoch = self.moment.epoch
        # Leads whose engagement restarted (recycled): (lead_key, since). Their engagement and
        # named scores count only events after ``since``; product signals and windows are untouched.
        self.engagement_since = engagement_since
        # Event property -> (its folded-text column, the events whose tests read it); see _shared_texts.
        self.folded_columns = self._shared_texts()

    def events_until_now(self, only_keys: ir.Table | None) -> ir.Table:
        events = self.facts.events
        events = events.filter(events.ts <= self.moment.at, events.event.isin(sorted(self.event_names())))
        if only_keys is not None:
            events = events.filter(events.lead_key.isin(only_keys.lead_key))
        # Whole seconds on every engine: DuckDB's epoch keeps the fraction of a second, Spark's drops it.
        folded = {
            column: folded_case(self.read_property(events, name, names))
            for name, (column, names) in self.folded_columns.items()
        }
        events = events.select(*SCORED_EVENT_COLUMNS, epoch=events.ts.epoch_seconds().floor(), **folded)
        if self.engagement_since is None:
            return events
        since = self.engagement_since
        since = since.select(since_key=since.lead_key, since_epoch=since.since.epoch_seconds().floor())
        return events.left_join(since, events.lead_key == since.since_key).drop("since_key")

    def event_names(self) -> set[str]:
        names = {rule.rule.event for rule in self._engagement_rules()}  # type: ignore[union-attr]
        product = self.playbook.model.scoring.product
        if product is not None:
            for signal in product.signals.values():
                names.update(signal.events)
        names.update(clause.event for clause in self.playbook.all_event_clauses())
        return names

    def _engagement_rules(self) -> list[ScoredRule]:
        return [rule for score in self.playbook.decayed_scores for rule in score.rules]

    def _shared_texts(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """The event properties that several case-ignoring tests read: the column that holds
        their folded text, and the names of the events those tests read it on. Each event's
        text is then folded once, not once a test (on DuckDB, four rules on ``path`` spent
        19 ms of a 130 ms incremental scoring folding it)."""
        filters: list[tuple[Sequence[str], ast.Node]] = []
        for scored in self._engagement_rules():
            rule = scored.rule
            assert isinstance(rule, EngagementRule)
            if rule.where:
                filters.append(([rule.event], rule.where.node))
        product = self.playbook.model.scoring.product
        if product is not None:
            filters += [(signal.events, signal.where.node) for signal in product.signals.values() if signal.where]
        filters += [([clause.event], clause.where) for clause in self.playbook.all_event_clauses() if clause.where]
        tests: Counter[str] = Counter()
        events: dict[str, set[str]] = {}
        for names, node in filters:
            for name in _text_tests(node, self.playbook.lists):
                tests[name] += 1
                events.setdefault(name, set()).update(names)
        shared = sorted(name for name, count in tests.items() if count > 1)
        return {name: (f"folded_{index}", tuple(sorted(events[name]))) for index, name in enumerate(shared)}

    def read_property(self, events: ir.Table, name: str, on: Sequence[str]) -> ir.StringValue:
        """An event property as text, read on the events named ``on`` alone (missing on the
        others, which the tests reading it never count): DuckDB then parses an event's JSON
        properties only for the rules that look into them (a property that one rule reads on
        a twentieth of the events: 14 ms instead of 43 over 828,000 events)."""
        value = self.facts.event_property(events, name)
        if name in PROMOTED_PROPERTIES:
            return value  # a column: nothing to spare
        return ibis.ifelse(events.event.isin(list(on)), value, ibis.null("string"))  # type: ignore[return-value]

    def _compiler(self, events: ir.Table, on: Sequence[str]) -> ConditionCompiler:
        """Conditions on the properties of the events named ``on`` (``events`` is a table from
        :meth:`events_until_now`)."""
        columns = self.folded_columns
        return ConditionCompiler(
            resolve=lambda ref: self.read_property(events, ref.path[1], on),
            lists=self.playbook.lists,
            folded=lambda ref: events[columns[ref.path[1]][0]] if ref.path[1] in columns else None,
        )

    def match(self, events: ir.Table, event: str, where: ast.Node | None) -> ir.BooleanValue:
        """The events of one name that pass a rule's filter."""
        matched = events.event == event
        if where is not None:
            matched = matched & self._compiler(events, [event]).compile_filter(where)
        return matched

    def in_window(self, events: ir.Table, seconds: int) -> ir.BooleanValue:
        return events.epoch > self.as_of_epoch - seconds

    def rule_match(self, events: ir.Table, scored: ScoredRule) -> ir.BooleanValue:
        """The events that count for an engagement rule: its event, filter and window, after
        the lead's engagement restarted if it did."""
        rule = scored.rule
        assert isinstance(rule, EngagementRule)
        matched = self.match(events, rule.event, rule.where.node if rule.where else None)
        if rule.within_days is not None:
            matched = matched & self.in_window(events, rule.within_days * SECONDS_PER_DAY)
        if self.engagement_since is not None:
            matched = matched & (events.since_epoch.isnull() | (events.epoch > events.since_epoch))
        return matched

    def aggregate(self, only_keys: ir.Table | None = None) -> EventAggregates:
        events = self.events_until_now(only_keys)
        metrics: dict[str, ir.Value] = {}
        daily_rules: list[tuple[ScoredRule, float | None]] = []
        for score in self.playbook.decayed_scores:
            for scored in score.rules:
                rule = scored.rule
                assert isinstance(rule, EngagementRule)
                matched = self.rule_match(events, scored)
                half_life = rule_half_life(rule, score.half_life_days)
                if rule.is_threshold:
                    metrics[f"n_{scored.id}"] = events.count(where=matched)
                elif rule.once:
                    metrics[f"f_{scored.id}"] = events.epoch.min(where=matched)
                elif rule.max_per_day is not None:
                    daily_rules.append((scored, half_life))
                elif half_life is None:
                    metrics[f"s_{scored.id}"] = events.count(where=matched).cast("float64")
                else:
                    age = self.as_of_epoch - events.epoch
                    metrics[f"s_{scored.id}"] = decay_factor(age, half_life).sum(where=matched)
        metrics.update(self._product_metrics(events))
        clauses = {clause: f"w_{index}" for index, clause in enumerate(self.playbook.all_event_clauses())}
        for clause, column in clauses.items():
            matched = self.match(events, clause.event, clause.where) & self.in_window(events, clause.within_seconds)
            metrics[column] = events.count(where=matched)
        main = events.group_by("lead_key").aggregate(**metrics) if metrics else events.select("lead_key").distinct()
        daily = self._daily(events, daily_rules) if daily_rules else None
        return EventAggregates(main=main, daily=daily, clauses=clauses)

    def evidence(self, only_keys: ir.Table) -> ir.Table:
        """Per lead and engagement rule: how many events matched (``k_<id>``) and the last one (``t_<id>``)."""
        events = self.events_until_now(only_keys)
        metrics: dict[str, ir.Value] = {}
        for score in self.playbook.decayed_scores:
            for scored in score.rules:
                matched = self.rule_match(events, scored)
                metrics[f"k_{scored.id}"] = events.count(where=matched)
                metrics[f"t_{scored.id}"] = events.ts.max(where=matched)
        if not metrics:
            return events.select("lead_key").distinct()
        return events.group_by("lead_key").aggregate(**metrics)

    def _product_metrics(self, events: ir.Table) -> dict[str, ir.Value]:
        product = self.playbook.model.scoring.product
        if product is None:
            return {}
        window = self.in_window(events, product.window_days * SECONDS_PER_DAY)
        metrics: dict[str, ir.Value] = {}
        for name, signal in product.signals.items():
            matched = window & self.signal_match(events, signal)
            if signal.count == "events":
                metrics[f"product_{name}"] = events.count(where=matched)
            elif signal.count == "distinct_days":
                span = self.moment.span
                day = local_day(
                    events.epoch,
                    self.playbook.model.timezone,
                    since=span[0] - product.window_days * SECONDS_PER_DAY if span else None,
                    until=span[1] if span else None,
                )
                metrics[f"product_{name}"] = day.nunique(where=matched)
            else:
                value = self.read_property(events, signal.property or "", signal.events)
                metrics[f"product_{name}"] = value.nunique(where=matched)
        return metrics

    def signal_match(self, events: ir.Table, signal: ProductSignal) -> ir.BooleanValue:
        matched = events.event.isin(list(signal.events))
        if signal.where is not None:
            matched = matched & self._compiler(events, signal.events).compile_filter(signal.where.node)
        return matched

    def _daily(self, events: ir.Table, rules: list[tuple[ScoredRule, float | None]]) -> ir.Table:
        # Only the events some daily rule counts: a day without one adds nothing, and grouping
        # every event of the rules' names by (lead, day) cost more than the rest of the scoring.
        matches = [self.rule_match(events, scored) for scored, _ in rules]
        subset = events.filter(functools.reduce(operator.or_, matches))
        latest = self.moment.span[1] if self.moment.span else None
        subset = subset.mutate(day=local_day(subset.epoch, self.playbook.model.timezone, until=latest))
        per_day: dict[str, ir.Value] = {}
        for scored, _ in rules:
            matched = self.rule_match(subset, scored)
            per_day[f"dn_{scored.id}"] = subset.count(where=matched)
            per_day[f"dl_{scored.id}"] = subset.epoch.max(where=matched)
        days = subset.group_by(["lead_key", "day"]).aggregate(**per_day)
        totals: dict[str, ir.Value] = {}
        for scored, half_life in rules:
            rule = scored.rule
            assert isinstance(rule, EngagementRule) and rule.max_per_day is not None
            count = days[f"dn_{scored.id}"]
            counted = ibis.least(count, rule.max_per_day)
            factor = decay_factor(self.as_of_epoch - days[f"dl_{scored.id}"], half_life)
            totals[f"d_{scored.id}"] = (counted * factor).sum(where=count > 0)
        return days.group_by("lead_key").aggregate(**totals)


def _text_tests(node: ast.Node, lists: Mapping[str, tuple[str | float, ...]]) -> list[str]:
    """The properties a filter compares as text, ignoring case (once per test)."""
    found = []
    for item in ast.walk(node):
        if isinstance(item, ast.TextMatch):
            found.append(item.operand.path[1])
        elif isinstance(item, ast.Compare) and not isinstance(item.right.value, float):
            found.append(item.left.path[1])
        elif isinstance(item, ast.InList):
            named = isinstance(item.items, ast.NamedList)
            values = lists[item.items.name] if named else [entry.value for entry in item.items.items]  # type: ignore[union-attr]
            values = [value for value in values if not isinstance(value, bool)]  # as the compiler takes them
            if not values or not all(isinstance(value, float) for value in values):
                found.append(item.operand.path[1])
    return found
