"""What was known at each checkpoint, from facts read once: traits and account membership.

A trait's value at checkpoint ``k`` is the one learnt last at or before it (ties on
``learnt_at`` to the later batch, then the later line), as in
:func:`leadgate.scoring.snapshots.trait_snapshot`. Here each fact goes to the interval of the
first checkpoint that knows it; per entity and interval the latest value wins; and a running
maximum over the intervals carries the latest value forward. To carry a *value* with a running
maximum of the *interval*, the two travel as one text: the interval, zero-padded, then ``=`` and
the value, or nothing for a missing value (a later missing value hides an earlier one, as in
the snapshot). Every engine compares such texts alike, and it takes one window, not one per trait.

:func:`lead_spans` joins a lead's traits and account to its running metric sums (from the
amounts of :mod:`.backtest_fast_events`), one row per interval in which anything changed.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence

import ibis
import ibis.expr.datatypes as dt_types
import ibis.expr.types as ir

from leadgate.analytics.backtest_fast_events import interval_index
from leadgate.analytics.backtest_fast_plan import Metric
from leadgate.domain.traits import TraitType
from leadgate.scoring.engine import ACCOUNT_PREFIX, LEAD_PREFIX
from leadgate.scoring.snapshots import learnt_order, typed
from leadgate.store.facts import Facts

WIDTH = 6  # digits of an interval in a carried value: up to 999,999 checkpoints
MEMBERSHIP = "account_id"


def carried(k: ir.IntegerValue, value: ir.StringValue, known: ir.BooleanValue) -> ir.StringValue:
    """``k`` and ``value`` as one text whose maximum is the latest value (null when not ``known``)."""
    text = k.cast("string").lpad(WIDTH, "0") + ibis.ifelse(value.isnull(), "", "=" + value)
    return ibis.ifelse(known, text, ibis.null("string"))  # type: ignore[return-value]


def uncarried(text: ir.StringValue) -> ir.StringValue:
    """The value a :func:`carried` text holds (null when missing or never known)."""
    return ibis.ifelse(text.substr(WIDTH, 1) == "=", text.substr(WIDTH + 1), ibis.null("string"))  # type: ignore[return-value]


def trait_changes(
    facts: Facts,
    entity_type: str,
    traits: Sequence[str],
    key: str,
    checkpoints: Sequence[dt.datetime],
    prefix: str,
) -> ir.Table:
    """``key``, ``k`` and ``<prefix><trait>`` (carried texts) for each entity and interval in which
    some of ``traits`` was learnt."""
    table = facts.traits
    table = table.filter(
        table.entity_type == entity_type,
        table.learnt_at <= ibis.literal(checkpoints[-1]),
        table.name.isin(sorted(traits)) if traits else ibis.literal(False),
    )
    table = table.mutate(k=interval_index(table.learnt_at, checkpoints))
    order = learnt_order(table)
    values: dict[str, ir.Value] = {}
    for name in sorted(traits):
        values[f"v_{name}"] = table.value.argmax(order, where=table.name == name)
        values[f"h_{name}"] = (table.name == name).any()
    grouped = table.group_by([key, "k"]).aggregate(**values)
    return grouped.select(
        key,
        "k",
        **{
            f"{prefix}{name}": carried(grouped.k, grouped[f"v_{name}"], grouped[f"h_{name}"]) for name in sorted(traits)
        },
    )


def membership_changes(facts: Facts, checkpoints: Sequence[dt.datetime]) -> ir.Table:
    """``lead_key``, ``k`` and ``account_id`` (a carried text) where a lead's account was learnt."""
    table = facts.identities
    table = table.filter(
        table.kind == "account", table.learnt_at <= ibis.literal(checkpoints[-1]), table.entity_key.notnull()
    )
    table = table.mutate(k=interval_index(table.learnt_at, checkpoints))
    grouped = table.group_by(lead_key=table.entity_key, k=table.k).aggregate(
        account=table.to_id.argmax(learnt_order(table))
    )
    return grouped.select("lead_key", "k", **{MEMBERSHIP: carried(grouped.k, grouped.account, ibis.literal(True))})


def typed_traits(table: ir.Table, traits: Mapping[str, TraitType], prefix: str) -> dict[str, ir.Value]:
    """The carried trait columns of ``table`` as typed values (see :func:`typed`)."""
    return {f"{prefix}{name}": typed(uncarried(table[f"{prefix}{name}"]), kind) for name, kind in traits.items()}


def account_spans(facts: Facts, traits: Mapping[str, TraitType], checkpoints: Sequence[dt.datetime]) -> ir.Table:
    """``account_id``, ``k``, ``next_k`` and ``account__<trait>`` typed: one row per account and
    interval in which one of its traits changed, standing for checkpoints ``k`` to ``next_k - 1``
    (none before its first known trait)."""
    prefix = ACCOUNT_PREFIX
    changes = trait_changes(facts, "account", list(traits), "entity_id", checkpoints, prefix)
    window = ibis.cumulative_window(group_by=changes.entity_id, order_by=changes.k)
    following = ibis.window(group_by=changes.entity_id, order_by=changes.k)
    state = changes.select(
        "entity_id",
        "k",
        next_k=changes.k.lead().over(following).fill_null(len(checkpoints)),
        **{f"{prefix}{name}": changes[f"{prefix}{name}"].max().over(window) for name in traits},
    )
    return state.select(
        account_id=state.entity_id, k=state.k, next_k=state.next_k, **typed_traits(state, traits, prefix)
    )


def expanded(spans: ir.Table) -> ir.Table:
    """One row per checkpoint ``k`` of each span (``k`` to ``next_k - 1``), without ``next_k``."""
    rows = spans.mutate(at=ibis.range(spans.k, spans.next_k, 1).unnest())
    return rows.drop("k", "next_k").rename(k="at")


def lead_spans(
    facts: Facts,
    lead_traits: Mapping[str, TraitType],
    metrics: Mapping[str, Metric],
    checkpoints: Sequence[dt.datetime],
    amounts: ir.Table | None,
    keep: ir.Table | None = None,
) -> ir.Table:
    """One row per lead and interval in which something happened to it (and interval 0): its
    running metric sums, typed traits and account (``account_id``), standing for checkpoints
    ``k`` to ``next_k - 1``. ``keep`` (``lead_key``): only those leads.

    Traits change seldom, events often: the traits' carried texts are run over the intervals
    with a trait or account change only, and each event interval finds them by the last such
    interval at or before it (``t``, a running maximum of a number): a window over texts costs
    about twice one over numbers, and this keeps them off the long table (a tenth less time
    for the whole backtest at 5M events)."""
    leads = facts.leads()
    texts = {f"{LEAD_PREFIX}{name}": dt_types.string for name in lead_traits} | {MEMBERSHIP: dt_types.string}
    parts = [leads.select("lead_key", k=ibis.literal(0, "int64"))]
    if lead_traits:
        changes = trait_changes(facts, "lead", list(lead_traits), "entity_key", checkpoints, LEAD_PREFIX)
        parts.append(changes.rename(lead_key="entity_key"))
    parts.append(membership_changes(facts, checkpoints))
    if keep is not None:
        parts = [part.filter(part.lead_key.isin(keep.lead_key)) for part in parts]
    traits = _spans(parts, texts, {}, len(checkpoints))
    traits = traits.mutate(
        **typed_traits(traits, lead_traits, LEAD_PREFIX), **{MEMBERSHIP: uncarried(traits[MEMBERSHIP])}
    )
    if not metrics or amounts is None:
        return traits
    numbers: dict[str, dt_types.DataType] = {
        metric.column: dt_types.int64 if metric.kind == "first" else dt_types.float64 for metric in metrics.values()
    }
    kinds: dict[str, str] = {metric.column: metric.kind for metric in metrics.values()} | {"t": "last"}
    events = amounts.select("lead_key", "k", *numbers)
    if keep is not None:
        events = events.filter(events.lead_key.isin(keep.lead_key))
    marks = traits.select("lead_key", "k", t=traits.k)
    state = _spans([events, marks], numbers | {"t": dt_types.int64}, kinds, len(checkpoints))
    known = traits.drop("next_k").rename(lead_at="lead_key", t_at="k")
    joined = state.join(known, [state.lead_key == known.lead_at, state.t == known.t_at])
    return joined.drop("lead_at", "t_at", "t")


def _spans(
    parts: list[ir.Table], columns: Mapping[str, dt_types.DataType], kinds: Mapping[str, str], count: int
) -> ir.Table:
    """``lead_key``, ``k``, ``next_k`` and ``columns`` run over the intervals of ``parts``: a
    running sum (``kinds`` ``sum``, ``daily``), minimum (``first``) or maximum (the others)."""
    aligned = [
        part.select(
            lead_key=part.lead_key.cast("int64"),
            k=part.k.cast("int64"),
            **{
                name: part[name].cast(kind) if name in part.columns else ibis.null(kind)
                for name, kind in columns.items()
            },
        )
        for part in parts
    ]
    merged = functools.reduce(lambda left, right: left.union(right, distinct=False), aligned)

    def total(column: ir.Column, name: str) -> ir.Value:
        kind = kinds.get(name)
        return column.min() if kind == "first" else column.sum() if kind in ("sum", "daily") else column.max()

    changes = merged.group_by(["lead_key", "k"]).aggregate(**{name: total(merged[name], name) for name in columns})
    running = ibis.cumulative_window(group_by=changes.lead_key, order_by=changes.k)
    following = ibis.window(group_by=changes.lead_key, order_by=changes.k)
    return changes.select(
        "lead_key",
        "k",
        next_k=changes.k.lead().over(following).fill_null(count),
        **{name: total(changes[name], name).over(running) for name in columns},
    )
