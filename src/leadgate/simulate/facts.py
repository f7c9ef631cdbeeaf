"""A history as the fact rows a store stages: Arrow tables, built column by column.

The rows are those that importing the simulation's files would give (same message ids, same
times, same values), except that the facts read from ``leads.csv`` and ``accounts.csv`` get
readable ids here (``sim-SEED:lead:ID:NAME``) where the importer hashes the file's content.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadgate.simulate.arrays import Ints, Texts
from leadgate.simulate.behaviour import Block
from leadgate.simulate.clock import NEVER
from leadgate.simulate.history import History
from leadgate.simulate.profiles import (
    ACCOUNT_COLUMNS,
    GROUP_TRAITS,
    IDENTIFY_TRAITS,
    LEAD_COLUMNS,
    email_domains,
    lead_profiles,
)
from leadgate.simulate.templates import CAMPAIGNS, TEMPLATES
from leadgate.simulate.truth import Truth

_KINDS = pa.array([entry.kind for entry in TEMPLATES])
_EVENTS = pa.array([entry.event for entry in TEMPLATES])
_PATHS = pa.array([entry.path for entry in TEMPLATES], pa.string())
_PROPERTIES = pa.array([entry.properties_json for entry in TEMPLATES], pa.string())
_UTM_SOURCES = pa.array([campaign.source for campaign in CAMPAIGNS])
_UTM_MEDIUMS = pa.array([campaign.medium for campaign in CAMPAIGNS])
_UTM_CAMPAIGNS = pa.array([campaign.campaign for campaign in CAMPAIGNS])


def joined(parts: Sequence[object], separator: str) -> pa.Array:
    """Texts built element-wise from arrays and constants."""
    return pc.binary_join_element_wise(*parts, separator)


def timestamps(moments: Ints) -> pa.Array:
    """Moments as Arrow timestamps (NEVER: null)."""
    unknown = moments == NEVER
    return pa.array(np.where(unknown, 0, moments) * 1_000_000, pa.timestamp("us"), mask=unknown)


def message_ids(history: History, first_number: int, count: int) -> pa.Array:
    """``sim-SEED-N`` for the events numbered from ``first_number``."""
    numbers = pa.array(np.arange(first_number, first_number + count)).cast(pa.string())
    return joined([history.prefix, numbers], "-")


def person_message_ids(history: History, kind: str, lead: Ints) -> pa.Array:
    """The id of a lead's ``identify`` or ``group`` message."""
    return joined([f"{history.prefix}-{kind}", pa.array(history.world.leads.ids[lead], pa.string())], "-")


class PersonIds:
    """The user id (leads only) and anonymous id of every person, by person number."""

    def __init__(self, history: History) -> None:
        leads, visitors = history.world.leads, history.world.visitors
        nobody = pa.nulls(len(visitors), pa.string())
        self.user_ids = pa.concat_arrays([pa.array(leads.ids, pa.string()), nobody])
        self.anonymous_ids = pa.array(np.concatenate([leads.anonymous_ids, visitors.anonymous_ids]), pa.string())

    def user_ids_of(self, block: Block) -> pa.Array:
        """The user id of each event of a block that carries one (null otherwise)."""
        named = self.user_ids.take(pa.array(block.events.person))
        return pc.if_else(pa.array(block.carries_user_id), named, pa.scalar(None, pa.string()))

    def anonymous_ids_of(self, block: Block) -> pa.Array:
        """The anonymous id of each event of a block that carries one (null otherwise)."""
        named = self.anonymous_ids.take(pa.array(block.events.person))
        return pc.if_else(pa.array(block.carries_anonymous_id), named, pa.scalar(None, pa.string()))


def event_rows(history: History, block: Block, ids: PersonIds, first_number: int) -> pa.Table:
    """The block's events, numbered from ``first_number``, without the staging ``line``."""
    events = block.events
    template = pa.array(events.template)
    campaign = pa.array(events.campaign, mask=events.campaign < 0)
    moment = timestamps(events.moment)
    return pa.table(
        {
            "message_id": message_ids(history, first_number, len(events)),
            "kind": _KINDS.take(template),
            "event": _EVENTS.take(template),
            "user_id": ids.user_ids_of(block),
            "anonymous_id": ids.anonymous_ids_of(block),
            "ts": moment,
            "received_at": moment,
            "path": _PATHS.take(template),
            "utm_source": _UTM_SOURCES.take(campaign),
            "utm_medium": _UTM_MEDIUMS.take(campaign),
            "utm_campaign": _UTM_CAMPAIGNS.take(campaign),
            "properties": _PROPERTIES.take(template),
        }
    )


def trait_rows(
    fact_ids: pa.Array, entity_type: str, entity_ids: pa.Array, name: str, values: Texts, learnt_at: Ints
) -> pa.Table:
    """One trait of many entities; unknown values are left out."""
    known = np.array([value is not None for value in values], dtype=bool)
    chosen = pa.array(known)
    return pa.table(
        {
            "fact_id": fact_ids.filter(chosen),
            "entity_type": pa.array([entity_type] * int(known.sum()), pa.string()),
            "entity_id": entity_ids.filter(chosen),
            "name": pa.array([name] * int(known.sum()), pa.string()),
            "value": pa.array(values[known], pa.string()),
            "learnt_at": timestamps(learnt_at[known]),
        }
    )


def identity_rows(fact_ids: pa.Array, kind: str, from_ids: pa.Array, to_ids: pa.Array, learnt_at: Ints) -> pa.Table:
    """Links of one kind (``alias``: cookie to lead; ``account``: lead to account)."""
    return pa.table(
        {
            "fact_id": fact_ids,
            "kind": pa.array([kind] * len(fact_ids), pa.string()),
            "from_id": from_ids,
            "to_id": to_ids,
            "learnt_at": timestamps(learnt_at),
        }
    )


def account_traits(history: History, account_profile: dict[str, Texts]) -> pa.Table:
    """The traits of ``accounts.csv``, learnt at the start of the window."""
    accounts = history.world.accounts
    ids = pa.array(accounts.ids, pa.string())
    learnt_at = np.full(len(ids), history.window.start)
    return pa.concat_tables(
        trait_rows(
            joined([history.prefix, "account", ids, name], ":"), "account", ids, name, account_profile[name], learnt_at
        )
        for name in ACCOUNT_COLUMNS
    )


def lead_facts(history: History, lead: Ints, account_profile: dict[str, Texts]) -> tuple[pa.Table, pa.Table]:
    """Traits and identities of some leads: their ``leads.csv`` row, ``identify`` and ``group``."""
    leads, accounts = history.world.leads, history.world.accounts
    ids = pa.array(leads.ids[lead], pa.string())
    account = leads.account[lead]
    account_ids = pa.array(accounts.ids[account], pa.string())
    learnt_at = history.arrivals.identified_at[lead]
    profiles = lead_profiles(history, lead) | {"email_domain": email_domains(leads.emails[lead])}
    identify = person_message_ids(history, "identify", lead)
    group = person_message_ids(history, "group", lead)
    row_id = joined([history.prefix, "lead", ids], ":")
    told_in_form = (*IDENTIFY_TRAITS.values(), "email_domain")
    traits = [
        *(
            trait_rows(joined([row_id, name], ":"), "lead", ids, name, profiles[name], learnt_at)
            for name in (*LEAD_COLUMNS, "email_domain")
        ),
        *(
            trait_rows(joined([identify, name], ":"), "lead", ids, name, profiles[name], learnt_at)
            for name in told_in_form
        ),
        *(
            trait_rows(
                joined([group, name], ":"), "account", account_ids, name, account_profile[name][account], learnt_at
            )
            for name in GROUP_TRAITS
        ),
    ]
    anonymous_ids = pa.array(leads.anonymous_ids[lead], pa.string())
    identities = [
        identity_rows(joined([row_id, "account"], ":"), "account", ids, account_ids, learnt_at),
        identity_rows(joined([identify, "alias"], ":"), "alias", anonymous_ids, ids, learnt_at),
        identity_rows(joined([group, "account"], ":"), "account", ids, account_ids, learnt_at),
    ]
    return pa.concat_tables(traits), pa.concat_tables(identities)


def truth_table(truth: Truth) -> pa.Table:
    """The ``simulation_truth`` table."""
    return pa.table(
        {
            "lead_id": pa.array(truth.lead_ids, pa.string()),
            "account_id": pa.array(truth.account_ids, pa.string()),
            "propensity": pa.array(truth.propensity, pa.float64()),
            "converted": pa.array(truth.converted, pa.bool_()),
            "outcome": pa.array(truth.outcome, pa.string()),
            "sql_at": timestamps(truth.sql_at),
            "outcome_at": timestamps(truth.outcome_at),
        }
    )
