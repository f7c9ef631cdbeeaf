"""What was known about leads and accounts at a moment: traits and account membership.

For each entity and trait, the value of the latest fact learnt at or before ``as_of`` wins
(ties on ``learnt_at`` go to the later import batch, then to the later line of the file).
Values are typed here, once: numbers become doubles (or missing), yes/no traits booleans.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import ibis.expr.types as ir

from leadgate.domain.traits import TraitType
from leadgate.scoring.moment import Moment, fixed_moment
from leadgate.scoring.text_values import number_from_text, trimmed
from leadgate.store.facts import Facts

_TRUE = ["true", "yes", "1", "y"]
_FALSE = ["false", "no", "0", "n"]


def learnt_order(table: ir.Table) -> ir.Value:
    """The order of a fact's rows from first learnt to last (``learnt_at``, then the import
    batch, then the line): the latest is its maximum."""
    return ibis.struct({"learnt_at": table.learnt_at, "batch_id": table.batch_id, "seq": table.seq})


def trait_snapshot(
    facts: Facts,
    entity_type: str,
    traits: Mapping[str, TraitType],
    as_of: dt.datetime | Moment,
    key: str,
    only_keys: ir.Table | None = None,
) -> ir.Table:
    """One row per entity with one typed column per trait (named ``<prefix><trait>``).

    ``key`` is ``entity_key`` (leads, by lead key) or ``entity_id`` (accounts, by id).
    """
    table = facts.traits
    table = table.filter(
        table.entity_type == entity_type,
        table.learnt_at <= fixed_moment(as_of).at,
        table.name.isin(sorted(traits)) if traits else ibis.literal(False),
    )
    if only_keys is not None:
        table = table.filter(table[key].isin(only_keys[key]))
    order = learnt_order(table)
    values = {name: table.value.argmax(order, where=table.name == name) for name in sorted(traits)}
    wide = table.group_by(key).aggregate(**values) if values else table.select(key).distinct()
    return wide.select(key, **{name: typed(wide[name], kind) for name, kind in traits.items()})


def typed(value: ir.StringValue, kind: TraitType) -> ir.Value:
    """A stored trait text as its declared type (unreadable values become missing)."""
    if kind == "number":
        return number_from_text(value)
    if kind == "boolean":
        lowered = trimmed(value).lower()
        return ibis.cases((lowered.isin(_TRUE), True), (lowered.isin(_FALSE), False), else_=ibis.null("boolean"))
    return value


def account_membership(facts: Facts, as_of: dt.datetime | Moment, only_keys: ir.Table | None = None) -> ir.Table:
    """``lead_key -> account_id``: each lead's latest account membership."""
    table = facts.identities
    table = table.filter(table.kind == "account", table.learnt_at <= fixed_moment(as_of).at, table.entity_key.notnull())
    if only_keys is not None:
        table = table.filter(table.entity_key.isin(only_keys.lead_key))
    latest = table.group_by(lead_key=table.entity_key).aggregate(account_id=table.to_id.argmax(learnt_order(table)))
    return latest
