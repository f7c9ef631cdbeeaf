"""Per-lead event state: what each lead's events add up to, kept between incremental runs.

An incremental scoring of a lead used to read its whole history again: every rule's test and
decay on every event, though most were already counted by the run before. The state keeps,
per lead, the event aggregates of :class:`~leadgate.scoring.events.EventPlan` as of the
moment of the run that wrote it, over the events of import batches up to a watermark. The
next run folds the new batches' events into it:

- counts add up; a decayed sum is aged to the new moment (``x 2^(-elapsed / half-life)``),
  then adds up; a first time is the earlier of the two;
- a windowed figure (``within_days``, ``at_least``, product signals, event clauses) keeps the
  time of its earliest counted event: the sum is right as long as that event is still in the
  window; once it leaves, the lead's history is read again;
- distinct days and values are kept as lists and merged;
- a rule with ``max_per_day`` keeps its closed days' sum and its last day (count, last time):
  a new event on that day or later folds in; one on an earlier day makes the history be read.

A lead's history is read again (the *slow* path, the same aggregates as a full scoring) when
it has no state, or the state could be wrong: its engagement restarted (now or when the state
was made), an alias moved another person's events to it (its number of person keys changed),
an event the state left out because it lay after its moment is now due, a windowed figure's
earliest event left its window, or a new ``max_per_day`` event is on a day before the state's
last. Leads rescored on request (``also``: an erasure, a move) always take it. The state is a
derived table of one connection (see :func:`leadgate.service.kept_state.keeps_event_state`); results
are the full scoring's up to the order floating-point sums are added in.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass, replace

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from leadgate.playbook.compiled import Playbook, ScoredRule
from leadgate.playbook.model_scoring import EngagementRule
from leadgate.scoring.engine import left_join
from leadgate.scoring.events import (
    SCORED_EVENT_COLUMNS,
    SECONDS_PER_DAY,
    EventAggregates,
    EventPlan,
    decay_factor,
    rule_half_life,
)
from leadgate.scoring.localtime import local_day
from leadgate.scoring.moment import Moment
from leadgate.store.facts import Facts

Match = Callable[[EventPlan, ir.Table], ir.BooleanValue]


@dataclass(frozen=True)
class Metric:
    """One per-lead aggregate of :meth:`EventPlan.aggregate` and how it folds.

    ``kind``: ``count`` (events), ``sum`` (events, as a float), ``decayed`` (a decayed sum),
    ``first`` (the earliest event's second), ``days`` or ``values`` (distinct local days or
    property values, kept as a list). ``window``: seconds, for a windowed figure.
    """

    column: str
    kind: str
    match: Match
    half_life: float | None = None
    window: int | None = None
    read: Callable[[EventPlan, ir.Table], ir.Value] | None = None  # the value a ``values`` metric counts


@dataclass(frozen=True)
class DailyRule:
    scored: ScoredRule
    half_life: float | None
    most: int  # max_per_day


class EventState:
    """The state of one playbook's event aggregates; see the module docstring."""

    def __init__(self, playbook: Playbook, facts: Facts, moment: Moment, engagement_since: ir.Table | None) -> None:
        self.playbook = playbook
        self.facts = facts
        self.moment = moment
        self.engagement_since = engagement_since
        self.metrics, self.daily_rules = self._metrics()

    # -- what is kept -----------------------------------------------------------------------
    def _metrics(self) -> tuple[list[Metric], list[DailyRule]]:
        metrics: list[Metric] = []
        daily: list[DailyRule] = []
        for score in self.playbook.decayed_scores:
            for scored in score.rules:
                rule = scored.rule
                assert isinstance(rule, EngagementRule)
                half_life = rule_half_life(rule, score.half_life_days)
                window = rule.within_days * SECONDS_PER_DAY if rule.within_days is not None else None
                match = functools.partial(_rule_match, scored=scored)
                if rule.is_threshold:
                    metrics.append(Metric(f"n_{scored.id}", "count", match, window=window))
                elif rule.once:
                    metrics.append(Metric(f"f_{scored.id}", "first", match, window=window))
                elif rule.max_per_day is not None:
                    daily.append(DailyRule(scored, half_life, rule.max_per_day))
                elif half_life is None:
                    metrics.append(Metric(f"s_{scored.id}", "sum", match, window=window))
                else:
                    metrics.append(Metric(f"s_{scored.id}", "decayed", match, half_life, window))
        product = self.playbook.model.scoring.product
        if product is not None:
            window = product.window_days * SECONDS_PER_DAY
            for name, signal in product.signals.items():
                match = functools.partial(_signal_match, signal=signal, window=window)
                kind = {"events": "count", "distinct_days": "days", "distinct_values": "values"}[signal.count]
                read = None
                if signal.count == "distinct_values":
                    read = functools.partial(_signal_value, name=signal.property or "", on=tuple(signal.events))
                metrics.append(Metric(f"product_{name}", kind, match, window=window, read=read))
        for index, clause in enumerate(self.playbook.all_event_clauses()):
            match = functools.partial(_clause_match, clause=clause)
            metrics.append(Metric(f"w_{index}", "count", match, window=clause.within_seconds))
        return metrics, daily

    def aggregates(self, state: ir.Table) -> EventAggregates:
        """The per-lead aggregates a scoring reads, from state rows made as of this moment."""
        values: dict[str, ir.Value] = {}
        for metric in self.metrics:
            column = state[metric.column]
            values[metric.column] = column.length() if metric.kind in ("days", "values") else column
        for rule in self.daily_rules:
            values[f"d_{rule.scored.id}"] = self._daily_value(state, rule)
        clauses = {clause: f"w_{index}" for index, clause in enumerate(self.playbook.all_event_clauses())}
        return EventAggregates(main=state.select("lead_key", **values), daily=None, clauses=clauses)

    def _daily_value(self, state: ir.Table, rule: DailyRule) -> ir.Value:
        rule_id = rule.scored.id
        last = state[f"dl_{rule_id}"]
        open_day = ibis.least(state[f"dn_{rule_id}"], rule.most) * decay_factor(
            self.moment.epoch - last, rule.half_life
        )
        return state[f"dc_{rule_id}"] + ibis.ifelse(last.isnull(), 0.0, open_day)

    def schema(self) -> ibis.Schema:
        """The state table's columns."""
        kinds = {"count": "int64", "sum": "float64", "decayed": "float64", "first": "int64"}
        kinds |= {"days": "array<int64>", "values": "array<string>"}
        columns: dict[str, str] = {"lead_key": "int64", "st_epoch": "int64", "st_upto": "int64", "st_keys": "int64"}
        columns |= {"st_pending": "int64", "st_restarted": "boolean", "st_folded": "boolean"}
        for metric in self.metrics:
            columns[metric.column] = kinds[metric.kind]
            if metric.window is not None:
                columns[f"m__{metric.column}"] = "int64"
        for rule in self.daily_rules:
            rule_id = rule.scored.id
            columns |= {
                f"dc_{rule_id}": "float64",
                f"dd_{rule_id}": "int64",
                f"dn_{rule_id}": "int64",
                f"dl_{rule_id}": "int64",
            }
        return ibis.schema(columns)

    # -- the new state ----------------------------------------------------------------------
    def updated(
        self,
        state: ir.Table,
        keys: ir.Table,
        batches: tuple[ir.IntegerValue, ir.IntegerValue],
        key_counts: ir.Table,
        forced: ir.Table,
    ) -> ir.Table:
        """The state rows of ``keys`` as of this moment, over the events of batches up to the
        second of ``batches``; a state made before the first of them is not folded into (its
        lead's history is read again), so the new events are those of the batches after it.

        ``state``: rows of earlier moments (see :meth:`schema`); ``key_counts``: ``lead_key,
        keys`` (how many person keys name each lead now); ``forced``: ``lead_key`` of the leads
        whose history is read again whatever their state. ``batches`` are best constants of
        the query (DuckDB then reads only the row groups of the new batches).
        """
        low, upto = batches
        candidates = self._candidates(state, keys, key_counts, forced)
        candidates = candidates.filter(candidates.st_upto >= low)
        recent = self._new_events(candidates, low, upto)
        if self.daily_rules:
            candidates = candidates.filter(~candidates.lead_key.isin(self._backdated(candidates, recent).lead_key))
            recent = recent.filter(recent.lead_key.isin(candidates.lead_key))
        fresh = keys.select("lead_key").distinct()
        fresh = fresh.filter(~fresh.lead_key.isin(candidates.lead_key))
        events = self.facts.events  # read again, not shared: DuckDB would copy every event below ``upto``
        history = events.filter(events.batch_id <= upto, events.lead_key.isin(fresh.lead_key))
        history = history.select(*SCORED_EVENT_COLUMNS)  # what the scoring reads, and no more
        kept = candidates.union(self._empty(fresh, state).select(*candidates.columns), distinct=False)
        folded = candidates.select("lead_key")
        rows = self._merged(kept, recent.union(history, distinct=False))
        counts = key_counts.select(k_key="lead_key", k_keys="keys")
        rows = rows.left_join(counts, rows.lead_key == counts.k_key)
        rows = rows.mutate(
            st_upto=ibis.literal(0) + upto,
            st_keys=rows.k_keys.fill_null(0),
            st_folded=rows.lead_key.isin(folded.lead_key),
        )
        return rows.select(*[rows[name].cast(kind).name(name) for name, kind in self.schema().items()])

    def _new_events(self, candidates: ir.Table, low: ir.IntegerValue, upto: ir.IntegerValue) -> ir.Table:
        """The events of ``candidates`` in the batches after their state's."""
        events = self.facts.events
        recent = events.filter(events.batch_id > low, events.batch_id <= upto)
        marks = candidates.select(c_key="lead_key", c_upto="st_upto")
        recent = recent.inner_join(marks, recent.lead_key == marks.c_key)
        return recent.filter(recent.batch_id > recent.c_upto).select(*SCORED_EVENT_COLUMNS)

    def _backdated(self, candidates: ir.Table, recent: ir.Table) -> ir.Table:
        """``lead_key`` of the candidates with a new ``max_per_day`` event on a day before the
        last day their state keeps for that rule (whose closed days cannot take it)."""
        plan = EventPlan(self.playbook, replace(self.facts, events=recent), self.moment, self.engagement_since)
        counted = plan.events_until_now(None)
        kept = candidates.select(
            b_key="lead_key", **{f"b_{r.scored.id}": f"dd_{r.scored.id}" for r in self.daily_rules}
        )
        counted = counted.inner_join(kept, counted.lead_key == kept.b_key)
        day = self._day(counted.epoch)
        early = [plan.rule_match(counted, r.scored) & (day < counted[f"b_{r.scored.id}"]) for r in self.daily_rules]
        return counted.filter(functools.reduce(operator.or_, early)).select("lead_key")

    def _empty(self, keys: ir.Table, state: ir.Table) -> ir.Table:
        """State rows with nothing kept, for the leads whose history is read again."""
        return keys.select(
            "lead_key",
            **{name: ibis.literal(None, type=kind) for name, kind in state.schema().items() if name != "lead_key"},
        )

    def _candidates(self, state: ir.Table, keys: ir.Table, key_counts: ir.Table, forced: ir.Table) -> ir.Table:
        """The rows of ``state`` that may be folded into (before their new events are read)."""
        now = self.moment.epoch
        rows = state.filter(state.lead_key.isin(keys.lead_key), ~state.lead_key.isin(forced.lead_key))
        counts = key_counts.select(k_key="lead_key", k_keys="keys")
        rows = rows.inner_join(counts, rows.lead_key == counts.k_key)
        conditions = [
            rows.st_keys == rows.k_keys,
            ~rows.st_restarted,
            rows.st_pending.isnull() | (rows.st_pending > now),
        ]
        if self.engagement_since is not None:
            conditions.append(~rows.lead_key.isin(self.engagement_since.lead_key))
        for metric in self.metrics:
            if metric.window is not None:
                earliest = rows[f"m__{metric.column}"]
                conditions.append(earliest.isnull() | (earliest > now - metric.window))
        return rows.filter(*conditions).drop("k_key", "k_keys")

    def _partial(self, events: ir.Table) -> tuple[ir.Table, ir.Table | None]:
        """Per lead, the kept aggregates of ``events`` alone as of this moment (``p__`` columns,
        one row per lead with an event); and, with ``max_per_day`` rules, their (lead, day) rows."""
        plan = EventPlan(self.playbook, replace(self.facts, events=events), self.moment, self.engagement_since)
        counted = plan.events_until_now(None)
        now = self.moment.epoch
        values: dict[str, ir.Value] = {}
        for metric in self.metrics:
            matched = metric.match(plan, counted)
            values[f"p__{metric.column}"] = _value(plan, counted, metric, matched, now)
            if metric.window is not None:
                values[f"p__m__{metric.column}"] = counted.epoch.min(where=matched)
        later = events.filter(events.ts > self.moment.at, events.event.isin(sorted(plan.event_names())))
        partial = counted.group_by("lead_key").aggregate(**values) if values else counted.select("lead_key").distinct()
        pending = later.group_by("lead_key").aggregate(p__pending=later.ts.epoch_seconds().floor().cast("int64").min())
        leads = partial.select("lead_key").union(pending.select("lead_key"), distinct=True)
        partial = left_join(left_join(leads, partial, "lead_key"), pending, "lead_key")
        return partial, (self._day_rows(plan, counted) if self.daily_rules else None)

    def _day_rows(self, plan: EventPlan, counted: ir.Table) -> ir.Table:
        matches = {rule.scored.id: plan.rule_match(counted, rule.scored) for rule in self.daily_rules}
        subset = counted.filter(functools.reduce(operator.or_, matches.values()))
        subset = subset.mutate(day=self._day(subset.epoch))
        values: dict[str, ir.Value] = {}
        for rule in self.daily_rules:
            matched = plan.rule_match(subset, rule.scored)
            values[f"dn_{rule.scored.id}"] = subset.count(where=matched)
            values[f"dl_{rule.scored.id}"] = subset.epoch.max(where=matched)
        return subset.group_by(["lead_key", "day"]).aggregate(**values)

    def _day(self, epoch: ir.NumericValue) -> ir.IntegerValue:
        """The local day of a ``max_per_day`` rule's event (as :meth:`EventPlan.aggregate` counts it)."""
        latest = self.moment.span[1] if self.moment.span else None
        return local_day(epoch, self.playbook.model.timezone, until=latest).cast("int64")  # type: ignore[return-value]

    def _merged(self, old: ir.Table, events: ir.Table) -> ir.Table:
        """``old`` state rows (empty ones for leads read again) folded with ``events``."""
        now = self.moment.epoch
        new, days = self._partial(events)
        rows = left_join(old, new, "lead_key")
        rows = rows.mutate(elapsed=now - rows.st_epoch.fill_null(now))
        columns: dict[str, ir.Value] = {
            "st_epoch": ibis.literal(0) + now,
            "st_pending": _earliest(rows.st_pending, rows.p__pending),
            "st_restarted": self._restarted(rows),
        }
        for metric in self.metrics:
            columns[metric.column] = _fold(metric, rows[metric.column], rows[f"p__{metric.column}"], rows.elapsed)
            if metric.window is not None:
                earliest = f"m__{metric.column}"
                columns[earliest] = _earliest(rows[earliest], rows[f"p__{earliest}"])
        if days is None:
            return rows.select("lead_key", "st_upto", "st_keys", **columns)
        kept = {f"o_dc_{r.scored.id}": f"dc_{r.scored.id}" for r in self.daily_rules}
        daily = self._daily(old, days, rows.select("lead_key", "elapsed", **{k: rows[v] for k, v in kept.items()}))
        rows = rows.select("lead_key", "st_upto", "st_keys", **columns)
        rows = left_join(rows, daily, "lead_key")
        return rows

    def _restarted(self, rows: ir.Table) -> ir.BooleanValue:
        if self.engagement_since is None:
            return ibis.literal(False)
        return rows.lead_key.isin(self.engagement_since.lead_key)

    def _daily(self, old: ir.Table, days: ir.Table, elapsed_of: ir.Table) -> ir.Table:
        """Per lead, each ``max_per_day`` rule's kept columns: ``dc_`` the closed days' sum as
        of this moment, ``dd_`` / ``dn_`` / ``dl_`` the last day, its count and its last
        second (new events on a day before the kept last day never come here: see
        :meth:`_backdated`).

        ``days``: the new events' (lead, day) rows with ``dn_`` / ``dl_`` per rule; ``old``:
        the kept state rows (for the last day kept and the closed sum).
        """
        now = self.moment.epoch
        rules = self.daily_rules
        kept_days = []
        for rule in rules:
            rule_id = rule.scored.id
            kept = old.filter(old[f"dd_{rule_id}"].notnull())
            kept_days.append(
                kept.select(
                    "lead_key",
                    day=kept[f"dd_{rule_id}"],
                    **{
                        column: (kept[column] if other is rule else ibis.literal(None, type=days[column].type()))
                        for other in rules
                        for column in (f"dn_{other.scored.id}", f"dl_{other.scored.id}")
                    },
                )
            )
        every = functools.reduce(lambda left, right: left.union(right, distinct=False), kept_days, days)
        every = every.group_by(["lead_key", "day"]).aggregate(
            **{f"dn_{r.scored.id}": every[f"dn_{r.scored.id}"].sum() for r in rules},
            **{f"dl_{r.scored.id}": every[f"dl_{r.scored.id}"].max() for r in rules},
        )
        lasts = {
            f"last_{r.scored.id}": every.day.max(where=every[f"dn_{r.scored.id}"] > 0).over(group_by=every.lead_key)
            for r in rules
        }
        every = every.mutate(**lasts)
        totals: dict[str, ir.Value] = {}
        for rule in rules:
            rule_id = rule.scored.id
            count, last, last_day = every[f"dn_{rule_id}"], every[f"dl_{rule_id}"], every[f"last_{rule_id}"]
            counted = ibis.least(count, rule.most) * decay_factor(now - last, rule.half_life)
            totals[f"dc_new_{rule_id}"] = counted.sum(where=(count > 0) & (every.day < last_day))
            totals[f"dd_{rule_id}"] = last_day.max()
            totals[f"dn_{rule_id}"] = count.sum(where=every.day == last_day)
            totals[f"dl_{rule_id}"] = last.max(where=every.day == last_day)
        per_lead = every.group_by("lead_key").aggregate(**totals)
        rows = left_join(elapsed_of, per_lead, "lead_key")
        columns: dict[str, ir.Value] = {}
        for rule in rules:
            rule_id = rule.scored.id
            kept_closed = rows[f"o_dc_{rule_id}"].fill_null(0.0) * decay_factor(rows.elapsed, rule.half_life)
            columns[f"dc_{rule_id}"] = kept_closed + rows[f"dc_new_{rule_id}"].fill_null(0.0)
            columns[f"dd_{rule_id}"] = rows[f"dd_{rule_id}"]
            columns[f"dn_{rule_id}"] = rows[f"dn_{rule_id}"]
            columns[f"dl_{rule_id}"] = rows[f"dl_{rule_id}"]
        return rows.select("lead_key", **columns)


def _rule_match(plan: EventPlan, events: ir.Table, scored: ScoredRule) -> ir.BooleanValue:
    return plan.rule_match(events, scored)


def _signal_match(plan: EventPlan, events: ir.Table, signal, window: int) -> ir.BooleanValue:  # type: ignore[no-untyped-def]
    return plan.in_window(events, window) & plan.signal_match(events, signal)


def _signal_value(plan: EventPlan, events: ir.Table, name: str, on: tuple[str, ...]) -> ir.Value:
    return plan.read_property(events, name, on)


def _clause_match(plan: EventPlan, events: ir.Table, clause) -> ir.BooleanValue:  # type: ignore[no-untyped-def]
    return plan.match(events, clause.event, clause.where) & plan.in_window(events, clause.within_seconds)


def _value(plan: EventPlan, events: ir.Table, metric: Metric, matched: ir.BooleanValue, now: ir.Value) -> ir.Value:
    if metric.kind == "count":
        return events.count(where=matched)
    if metric.kind == "sum":
        return events.count(where=matched).cast("float64")
    if metric.kind == "decayed":
        return decay_factor(now - events.epoch, metric.half_life).sum(where=matched)
    if metric.kind == "first":
        return events.epoch.min(where=matched)
    if metric.kind == "days":
        product = plan.playbook.model.scoring.product
        assert product is not None
        span = plan.moment.span
        window = product.window_days * SECONDS_PER_DAY
        day = local_day(
            events.epoch,
            plan.playbook.model.timezone,
            since=span[0] - window if span else None,
            until=span[1] if span else None,
        )
        return day.cast("int64").collect(where=matched, distinct=True)
    assert metric.read is not None
    return metric.read(plan, events).collect(where=matched, distinct=True)


def _fold(metric: Metric, old: ir.Value, new: ir.Value, elapsed: ir.IntegerValue) -> ir.Value:
    if metric.kind == "count":
        return old.fill_null(0) + new.fill_null(0)  # type: ignore[attr-defined]
    if metric.kind == "sum":
        return old.fill_null(0.0) + new.fill_null(0.0)  # type: ignore[attr-defined]
    if metric.kind == "decayed":
        return old.fill_null(0.0) * decay_factor(elapsed, metric.half_life) + new.fill_null(0.0)  # type: ignore[attr-defined]
    if metric.kind == "first":
        return _earliest(old, new)
    empty = ibis.literal([], type=old.type())
    merge = _merged_texts if metric.kind == "values" else _merged_days
    return merge(old.fill_null(empty), new.fill_null(empty))  # type: ignore[attr-defined]


@ibis.udf.scalar.builtin(name="getvariable")
def variable(name: str) -> dt.int64:  # type: ignore[valid-type,empty-body]
    """A DuckDB variable (``SET VARIABLE``), a constant of the query that reads it."""
    ...


# The distinct items of two lists, in DuckDB's words (the state is DuckDB's: see
# leadgate.service.kept_state.keeps_event_state); Ibis's own union writes a lambda DuckDB 2 refuses.
@ibis.udf.scalar.builtin(name="list_distinct")
def _distinct_texts(items: dt.Array(dt.string)) -> dt.Array(dt.string):  # type: ignore[valid-type,empty-body]
    ...


@ibis.udf.scalar.builtin(name="list_distinct")
def _distinct_days(items: dt.Array(dt.int64)) -> dt.Array(dt.int64):  # type: ignore[valid-type,empty-body]
    ...


def _merged_texts(old: ir.ArrayValue, new: ir.ArrayValue) -> ir.ArrayValue:
    return _distinct_texts(_concat_texts(old, new))


def _merged_days(old: ir.ArrayValue, new: ir.ArrayValue) -> ir.ArrayValue:
    return _distinct_days(_concat_days(old, new))


@ibis.udf.scalar.builtin(name="list_concat")
def _concat_texts(left: dt.Array(dt.string), right: dt.Array(dt.string)) -> dt.Array(dt.string):  # type: ignore[valid-type,empty-body]
    ...


@ibis.udf.scalar.builtin(name="list_concat")
def _concat_days(left: dt.Array(dt.int64), right: dt.Array(dt.int64)) -> dt.Array(dt.int64):  # type: ignore[valid-type,empty-body]
    ...


def _earliest(old: ir.Value, new: ir.Value) -> ir.Value:
    return ibis.ifelse(old.isnull(), new, ibis.ifelse(new.isnull(), old, ibis.least(old, new)))
