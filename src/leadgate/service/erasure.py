"""Erasing a person (a data-protection request), and saying what was erased.

The store removes the person's traits, ids, event properties and sales notes and keeps the
anonymous facts (event names and times, stage moves) so the funnel's counts stay right. The
latest scores are derived from those facts and carry the lead's id, so the erased lead is
rescored at once: its row then names it by the id that replaced the erased one.
"""

from __future__ import annotations

import datetime as dt

import ibis.expr.types as ir
from pydantic import BaseModel

from leadgate.domain.times import UtcTime
from leadgate.playbook.compiled import Playbook
from leadgate.service.decisions import lead_key_of
from leadgate.service.scoring import SCORES_TABLE, run_scoring
from leadgate.store.base import Store


class Erasure(BaseModel):
    """What an erasure removed; the counts are of rows before the erasure."""

    lead_id: str
    erased_at: UtcTime
    known_now_as: str  # the id the lead's anonymous facts keep (stage counts, event counts)
    ids: int  # the person's user and anonymous ids, replaced
    traits: int  # profile traits, deleted
    links: int  # aliases deleted; account memberships kept without the person's id
    events: int  # kept for the funnel, without ids, page paths, campaigns or properties
    notes: int  # sales notes on their decisions, cleared


def erase_person(store: Store, playbook: Playbook, lead_id: str, at: dt.datetime) -> Erasure:
    """Erase the person known as ``lead_id`` (:class:`~leadgate.errors.NotFound` if no lead has that id)."""
    lead_key = lead_key_of(store, lead_id)
    tables = store.backend
    traits = tables.table("traits")
    identities = tables.table("identities")
    events = tables.table("events")
    decisions = tables.table("decisions")
    person_keys = tables.table("person_keys")
    counts = {
        "ids": _count(person_keys.filter(person_keys.lead_key == lead_key)),
        "traits": _count(traits.filter((traits.entity_type == "lead") & (traits.entity_key == lead_key))),
        "links": _count(identities.filter(identities.entity_key == lead_key)),
        "events": _count(events.filter(events.lead_key == lead_key)),
        "notes": _count(decisions.filter((decisions.lead_key == lead_key) & decisions.note.notnull())),
    }
    store.erase_person(lead_id, at)
    if store.has_table(SCORES_TABLE):
        run_scoring(store, playbook, at, incremental=True, also=[lead_key])
    leads = store.facts().leads()
    now_as = leads.filter(leads.lead_key == lead_key).lead_id.to_pyarrow().to_pylist()
    return Erasure(lead_id=lead_id, erased_at=at, known_now_as=now_as[0] if now_as else "", **counts)


def _count(table: ir.Table) -> int:
    return int(table.count().to_pyarrow().as_py())
