"""The facts as Ibis tables, whatever engine holds them.

Scoring and analytics are written against :class:`Facts`; an adapter (DuckDB, Spark, ...)
builds it. The one thing Ibis cannot say the same way everywhere, reading a property out of
an event's JSON text, is the adapter's ``property_text`` function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

PropertyReader = Callable[[ir.StringValue, str], ir.StringValue]

# Event properties stored as columns of their own (Segment's page and campaign fields), so
# that the most used filters do not parse JSON.
PROMOTED_PROPERTIES: dict[str, str] = {
    "path": "path",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
}


@dataclass(frozen=True)
class Facts:
    """The fact tables of one store, plus how to read an event property on its engine."""

    backend: ibis.BaseBackend
    events: ir.Table
    traits: ir.Table
    identities: ir.Table
    person_keys: ir.Table
    property_text: PropertyReader
    engine: str
    # ``lead_key``, ``p_convert``: the latest predictions (``leadgate predict``); None before any
    predictions: ir.Table | None = None

    def event_property(self, events: ir.Table, name: str) -> ir.StringValue:
        """An event property as text (null when absent), from its column when it has one."""
        column = PROMOTED_PROPERTIES.get(name)
        if column is not None:
            return events[column]
        return self.property_text(events.properties, name)

    def leads(self) -> ir.Table:
        """One row per lead: its integer key and its id (the user id it was first known by)."""
        keys = self.person_keys
        users = keys.filter((keys.id_kind == "user") & (keys.first_key == keys.lead_key))
        return users.select(lead_key=users.lead_key, lead_id=users.id_value)
