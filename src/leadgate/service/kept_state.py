"""The state incremental runs keep between them on DuckDB, and how a run folds into it.

Each lead's event aggregates (:mod:`leadgate.scoring.event_state`) and every lead's and
account's latest traits (:mod:`leadgate.scoring.trait_state`) live in temporary tables of the
worker's connection. A run first writes the new state of the leads it rescores, then their
scores read it instead of the leads' histories.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from leadgate.playbook.compiled import Playbook
from leadgate.scoring.event_state import EventState, variable
from leadgate.scoring.events import EventAggregates
from leadgate.scoring.moment import Moment, moment_parameter
from leadgate.scoring.trait_state import KEPT_COLUMNS, TraitState
from leadgate.service.scoring_tables import KEYS_TABLE, PARAMETERS_TABLE
from leadgate.store.base import EventStateStore, Store
from leadgate.store.facts import Facts

STATE_TABLE = "event_state"  # each lead's event aggregates, kept between incremental runs
NEW_STATE_TABLE = "event_state_new"  # those of the leads the current run rescores
TRAIT_STATE_TABLE = "trait_state"  # every lead's and account's latest traits, kept with the event state
NEW_TRAIT_STATE_TABLE = "trait_state_new"  # those of the entities the current run's facts name
STATE_SINCE_VARIABLE, STATE_UPTO_VARIABLE = "leadgate_state_since", "leadgate_state_upto"
TRAITS_SINCE_VARIABLE = "leadgate_traits_since"
TRAIT_STATE_MARK = ("trait state", "made up to")  # its last batch and moment, kept with the connection's SQL
# A lead's state made more batches ago than this is not folded into: its history is read again
# (the new events of a fold are read from the batches after the oldest state folded into).
STATE_FOLDS_BATCHES = 500
# Histories at which folding starts. Measured with bench/scoring_insert.py on two stores of the
# service bench (DuckDB, 2 cores), the trait state included: at 18 events a key (60 s), 4,177
# leads took 210 ms folded against 134 reading their histories; at 142 (10 minutes), 9,724
# leads 362 ms against 731. The two costs cross near 39.
FOLD_FROM_EVENTS_PER_KEY = 40


@dataclass(frozen=True)
class KeptStateSql:
    """The compiled SQL of the state an incremental run keeps (see :func:`keeps_event_state`)."""

    events: str  # the rescored leads' event state
    event_columns: list[str]
    traits: str  # the new rows of the trait state
    traits_made: str  # the whole trait state, made from the facts

    @classmethod
    def compile(
        cls,
        store: Store,
        playbook: Playbook,
        facts: Facts,
        moment: Moment,
        only: ir.Table,
        engagement_since: ir.Table | None,
    ) -> tuple[KeptStateSql, EventAggregates, ir.Table]:
        """The state's SQL for the leads of ``only`` (``lead_key``), and what their scoring
        reads from it: their event aggregates, and the kept trait rows."""
        state = EventState(playbook, facts, moment, engagement_since)
        people = facts.person_keys.filter(facts.person_keys.lead_key.isin(only.lead_key))
        key_counts = people.group_by("lead_key").aggregate(keys=people.count())
        batches = (variable(STATE_SINCE_VARIABLE).name("since"), variable(STATE_UPTO_VARIABLE).name("upto"))
        new_state = state.updated(
            store.backend.table(STATE_TABLE), only, batches, key_counts, store.backend.table("also_keys")
        )
        new_state_rows = store.backend.table(NEW_STATE_TABLE)
        traits = TraitState(playbook, facts, moment)
        kept_traits = store.backend.table(TRAIT_STATE_TABLE)
        reread = new_state_rows.filter(~new_state_rows.st_folded).select("lead_key")
        traits_since = variable(TRAITS_SINCE_VARIABLE).name("traits_since")
        new_traits = traits.updated(kept_traits, (traits_since, batches[1]), only, reread)
        sql = cls(
            store.sql(new_state), list(state.schema().names), store.sql(new_traits), store.sql(traits.made(batches[1]))
        )
        return sql, state.aggregates(new_state_rows), kept_traits


def keeps_event_state(store: Store) -> bool:
    """Whether incremental runs keep each lead's event aggregates between them (see
    :mod:`leadgate.scoring.event_state`): on DuckDB, in temporary tables of the connection,
    which one process alone writes to. PostgreSQL serves several processes, whose own tables
    would miss what the others fold in, so there every run reads the histories."""
    return isinstance(store, EventStateStore)


def folding_pays(store: Store) -> bool:
    """Whether the stored histories are long enough (FOLD_FROM_EVENTS_PER_KEY events a person
    key, on average) for folding new events into the leads' state to cost less than reading
    their histories: the state's query has a fixed cost of its own (see the constant)."""
    return store.count("events") >= FOLD_FROM_EVENTS_PER_KEY * max(store.count("person_keys"), 1)


def _state_batches(store: Store, upto_batch: int) -> dict[str, int]:
    """The variables naming the batches whose events the state query folds in: after the oldest state of a lead it
    rescores, at most STATE_FOLDS_BATCHES back, up to ``upto_batch``."""
    oldest = store.query_rows(
        f"SELECT min(st_upto) AS oldest FROM {STATE_TABLE} WHERE lead_key IN (SELECT lead_key FROM {KEYS_TABLE})"
    )[0]["oldest"]
    since = max(int(oldest if oldest is not None else upto_batch), upto_batch - STATE_FOLDS_BATCHES)
    return {STATE_SINCE_VARIABLE: since, STATE_UPTO_VARIABLE: upto_batch}


def make_state_tables(store: Store, playbook: Playbook, span: tuple[int, int]) -> None:
    """Create the (empty) event state tables of this connection for ``playbook``, unless they
    are this playbook's already: another playbook's state is dropped."""
    made_for = ("event state of", STATE_TABLE)  # kept with the connection's compiled SQL, as the tables are
    if store.prepared.get(made_for) == playbook.digest and store.has_table(STATE_TABLE):
        return
    parameters = store.backend.table(PARAMETERS_TABLE)
    facts, moment = store.facts(), moment_parameter(parameters, span)
    state = EventState(playbook, facts, moment, None)
    empty = parameters.select(**{name: ibis.null(kind) for name, kind in state.schema().items()}).filter(False)
    for name in (STATE_TABLE, NEW_STATE_TABLE):
        store.replace_scratch_as(name, store.table_sql(empty))
    no_traits = store.table_sql(TraitState(playbook, facts, moment).empty(facts.traits))
    for name in (TRAIT_STATE_TABLE, NEW_TRAIT_STATE_TABLE):
        store.replace_scratch_as(name, no_traits)
    store.prepared.pop(TRAIT_STATE_MARK, None)
    store.prepared[made_for] = playbook.digest


def fold_into_state(store: Store, sql: KeptStateSql, upto_batch: int) -> int:
    """Write the new state of the leads a run rescores (``rescore_keys``), over the facts of the
    batches up to ``upto_batch`` (the last one when the run started); how many of them had
    their new facts folded into their kept state, rather than their histories read again."""
    assert isinstance(store, EventStateStore)  # see keeps_event_state
    parameters = store.query_rows(f"SELECT as_of, since_batch FROM {PARAMETERS_TABLE}")[0]
    traits_since = _traits_since(store, parameters["as_of"], parameters["since_batch"])
    store.prepared.pop(TRAIT_STATE_MARK, None)  # until the trait state is whole again
    store.set_variables(_state_batches(store, upto_batch) | {TRAITS_SINCE_VARIABLE: traits_since or 0})
    store.refill_table_as(NEW_STATE_TABLE, sql.events)
    store.replace_rows_as(STATE_TABLE, f"SELECT * FROM {NEW_STATE_TABLE}", sql.event_columns, KEYS_TABLE)
    if traits_since is None:
        store.refill_table_as(TRAIT_STATE_TABLE, sql.traits_made)
    else:  # its new rows read event_state_new: which leads are read again
        store.refill_table_as(NEW_TRAIT_STATE_TABLE, sql.traits)
        _replace_trait_rows(store)
    store.prepared[TRAIT_STATE_MARK] = (upto_batch, parameters["as_of"])
    for name in (STATE_TABLE, TRAIT_STATE_TABLE):
        store.compact_scratch(name)
    return int(store.query_rows(f"SELECT count(*) AS n FROM {NEW_STATE_TABLE} WHERE st_folded")[0]["n"])


def _traits_since(store: Store, moment: dt.datetime, since_batch: int) -> int | None:
    """The batch the kept trait state was made up to, if the current run (at ``moment``, after
    ``since_batch``) can fold into it: the last run kept it (it is made up to that run's last
    batch, whose later facts the current run rescores) at a moment not after the current run's.
    None: it is made again from the facts."""
    mark = store.prepared.get(TRAIT_STATE_MARK)
    if mark is None:
        return None
    upto, made_at = mark
    return upto if upto == since_batch and made_at <= moment else None


def _replace_trait_rows(store: Store) -> None:
    """Put the new trait rows in the kept state: those of the rescored leads (all the leads
    whose facts changed), and of the accounts the new facts name."""
    columns = list(KEPT_COLUMNS)
    new_rows = f"SELECT {', '.join(columns)} FROM {NEW_TRAIT_STATE_TABLE}"
    store.replace_scratch_as("trait_lead_keys", f"SELECT lead_key AS entity_key FROM {KEYS_TABLE}")
    store.replace_rows_as(
        TRAIT_STATE_TABLE, f"{new_rows} WHERE entity_type = 'lead'", columns, "trait_lead_keys", "entity_key"
    )
    accounts = f"SELECT DISTINCT entity_id FROM {NEW_TRAIT_STATE_TABLE} WHERE entity_type = 'account'"
    store.replace_scratch_as("trait_account_keys", accounts)
    store.replace_rows_as(
        TRAIT_STATE_TABLE, f"{new_rows} WHERE entity_type = 'account'", columns, "trait_account_keys", "entity_id"
    )
