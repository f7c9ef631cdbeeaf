"""What was known at each checkpoint, from facts read once: traits and account membership.

A trait's value at checkpoint ``k`` is the one learnt last at or before it (ties on
``learnt_at`` to the later batch, then the later line), as in
:func:`leadgate.scoring.snapshots.trait_snapshot`. Here each fact goes to the interval of the
first checkpoint that knows it; per entity and interval the latest value wins; and a running
maximum over the intervals carries the latest value forward. To carry a *value* with a running
maximum of the *interval*, the two travel as one text: the interval, zero-padded, then ``=`` and
the value, or nothing for a missing value (a later missing value hides an earlier one, as in
the snapshot). Every engine compares such texts alike, and it takes one window, not one per trait.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import ibis
import ibis.expr.types as ir

from leadgate.analytics.backtest_fast_events import interval_index
from leadgate.domain.traits import TraitType
from leadgate.scoring.snapshots import typed
from leadgate.store.facts import Facts

WIDTH = 6  # digits of an interval in a carried value: up to 999,999 checkpoints
MEMBERSHIP = "account_id"


def _latest(table: ir.Table) -> ir.Value:
    return ibis.struct({"learnt_at": table.learnt_at, "batch_id": table.batch_id, "seq": table.seq})


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
    order = _latest(table)
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
    grouped = table.group_by(lead_key=table.entity_key, k=table.k).aggregate(account=table.to_id.argmax(_latest(table)))
    return grouped.select("lead_key", "k", **{MEMBERSHIP: carried(grouped.k, grouped.account, ibis.literal(True))})


def typed_traits(table: ir.Table, traits: Mapping[str, TraitType], prefix: str) -> dict[str, ir.Value]:
    """The carried trait columns of ``table`` as typed values (see :func:`typed`)."""
    return {f"{prefix}{name}": typed(uncarried(table[f"{prefix}{name}"]), kind) for name, kind in traits.items()}


def account_states(facts: Facts, traits: Mapping[str, TraitType], checkpoints: Sequence[dt.datetime]) -> ir.Table:
    """``account_id``, ``k`` and ``account__<trait>`` typed, for every checkpoint from an
    account's first known trait on."""
    prefix = "account__"
    changes = trait_changes(facts, "account", list(traits), "entity_id", checkpoints, prefix)
    window = ibis.cumulative_window(group_by=changes.entity_id, order_by=changes.k)
    following = ibis.window(group_by=changes.entity_id, order_by=changes.k)
    state = changes.select(
        "entity_id",
        "k",
        next_k=changes.k.lead().over(following).fill_null(len(checkpoints)),
        **{f"{prefix}{name}": changes[f"{prefix}{name}"].max().over(window) for name in traits},
    )
    state = state.select("entity_id", "k", "next_k", **typed_traits(state, traits, prefix))
    expanded = state.mutate(at=ibis.range(state.k, state.next_k, 1).unnest())
    return expanded.select(
        account_id=expanded.entity_id,
        k=expanded.at,
        **{f"{prefix}{name}": expanded[f"{prefix}{name}"] for name in traits},
    )
