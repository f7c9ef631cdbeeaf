"""Scoring runs: compute scores with the engine and keep the latest in ``lead_scores``.

A *full* run rescores every lead. An *incremental* run rescores only the leads that facts
imported since the last run touched (and the other contacts of their accounts, whose
account roll-ups may change), so its cost follows the new facts, not the history. A changed
playbook, or no earlier run, makes an incremental request run in full.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from leadgate.playbook.compiled import Playbook
from leadgate.scoring.engine import score_leads
from leadgate.scoring.event_state import EventState, variable
from leadgate.scoring.moment import Moment, fixed_moment, moment_parameter, moment_row, year_span
from leadgate.scoring.snapshots import account_membership
from leadgate.scoring.trait_state import KEPT_COLUMNS, TraitState
from leadgate.store.base import EventStateStore, Store
from leadgate.store.facts import Facts
from leadgate.store.schema import LEAD_STATE_TABLE

SCORES_TABLE = "lead_scores"
PARAMETERS_TABLE = "scoring_parameters"  # an incremental run's moment and last batch (one row)
KEYS_TABLE = "rescore_keys"  # the leads an incremental run rescores
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
FUSED_FROM_PERSON_IDS = 200_000  # from here a full scoring's SQL is compiled with merged selects


@dataclass(frozen=True)
class ScoringRun:
    kind: str  # full or incremental
    as_of: dt.datetime
    leads_scored: int
    seconds: float
    playbook_version: int
    reason: str = ""
    # Of the leads scored: those whose kept event state took their new events (see
    # leadgate.scoring.event_state); the others' events were read again.
    leads_folded: int = 0


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def run_scoring(
    store: Store,
    playbook: Playbook,
    as_of: dt.datetime | None = None,
    incremental: bool = False,
    also: Sequence[int] = (),
) -> ScoringRun:
    """Score leads as of ``as_of`` (default: now) and store the result.

    Recycled leads whose playbook restarts engagement count only their events since then
    (:func:`engagement_restarts`); such a lead counts as touched for an incremental run.
    An incremental run as of a moment before the last run's is run in full: the stored
    scores belong to a later moment. ``also`` names leads an incremental run rescores even
    if no new fact touched them. One run at a time per database (a cycle's run included).
    """
    with store.exclusive("cycle"):
        return _run_scoring(store, playbook, as_of or utc_now(), incremental, also)


def _run_scoring(
    store: Store, playbook: Playbook, as_of: dt.datetime, incremental: bool, also: Sequence[int]
) -> ScoringRun:
    started = time.perf_counter()
    # Read first: a restart or a batch committed meanwhile (the server's intake commits on its
    # own connection while a cycle runs) is rescored by the next run, never skipped.
    lifecycle_seq = store.last_lifecycle_seq()
    batch_id = store.last_batch_id()
    last = store.last_scoring_run()
    reason = ""
    if incremental:
        if last is None or not store.has_table(SCORES_TABLE):
            reason = "no earlier scoring run"
        elif last["playbook_digest"] != playbook.digest:
            reason = "the playbook changed since the last run"
        elif isinstance(last["as_of"], dt.datetime) and as_of < last["as_of"]:
            reason = f"--as-of is before the last run's ({last['as_of']:%Y-%m-%d %H:%M})"
    engagement_since = engagement_restarts(store)
    since_seq = int(str(last.get("max_lifecycle_seq") or 0)) if last else 0
    folded = 0
    if incremental and not reason and last is not None:
        kind = "incremental"
        since_batch = int(str(last["max_batch_id"]))
        if not also and since_batch == batch_id and not store.restarted_since(since_seq):
            scored = 0  # no new fact since the last run: nothing to rescore, and no query to build
        else:
            scored, folded = _rescore(store, playbook, as_of, since_batch, since_seq, also, engagement_since, batch_id)
    else:
        kind = "full"
        scored = _score_all(store, playbook, as_of, batch_id, engagement_since)
    seconds = time.perf_counter() - started
    store.record_scoring_run(
        {
            "kind": kind,
            "as_of": as_of,
            "playbook_name": playbook.name,
            "playbook_version": playbook.version,
            "playbook_digest": playbook.digest,
            "max_batch_id": batch_id,
            "leads_scored": scored,
            "seconds": seconds,
            "finished_at": utc_now(),
            "max_lifecycle_seq": lifecycle_seq,
        }
    )
    return ScoringRun(kind, as_of, scored, seconds, playbook.version, reason, folded)


def _score_all(
    store: Store, playbook: Playbook, as_of: dt.datetime, batch_id: int, engagement_since: ir.Table | None
) -> int:
    """Rescore every lead; how many. The query reads the moment from ``scoring_parameters``,
    so its SQL is compiled once per playbook (the simulator's sales side runs a full cycle a day)."""
    _set_parameters(store, as_of, batch_id)
    many = store.count("person_keys") >= FUSED_FROM_PERSON_IDS  # see Store.sql

    span = year_span(as_of)

    def compile_query() -> str:
        moment = moment_parameter(store.backend.table(PARAMETERS_TABLE), span)
        scores = score_leads(store.facts(), playbook, moment, engagement_since=engagement_since)
        return store.table_sql(stamped(scores, playbook, moment), fuse_selects=many)

    key = ("full", playbook.digest, playbook.version, many, engagement_since is not None, span)
    store.replace_table_as(SCORES_TABLE, store.kept(key, compile_query))
    return store.count(SCORES_TABLE)


def _set_parameters(store: Store, as_of: dt.datetime, since_batch: int) -> None:
    parameters = moment_row(as_of).append_column("since_batch", pa.array([since_batch], pa.int64()))
    store.replace_table_from_arrow(PARAMETERS_TABLE, parameters)


def _rescore(
    store: Store,
    playbook: Playbook,
    as_of: dt.datetime,
    since_batch: int,
    since_seq: int,
    also: Sequence[int],
    engagement_since: ir.Table | None,
    upto_batch: int,
) -> tuple[int, int]:
    """Rescore the leads touched since the last run (and ``also``); how many were rescored, and
    how many of them had their new events folded into their kept state."""
    prepared = prepare_rescore(store, playbook, as_of, since_batch, since_seq, also, engagement_since)
    return apply_rescore(store, prepared, upto_batch)


def apply_rescore(store: Store, prepared: PreparedRescore, upto_batch: int) -> tuple[int, int]:
    """Run what :func:`prepare_rescore` prepared: the leads' event state (where it is kept),
    over the events of the batches up to ``upto_batch`` (the last one when the run started),
    then their scores; how many leads were rescored, and how many had their state folded into."""
    folded = 0
    state = prepared.state
    if state is not None:
        assert isinstance(store, EventStateStore)  # see keeps_event_state
        traits_since = _traits_since(store)
        store.prepared.pop(TRAIT_STATE_MARK, None)  # until the trait state is whole again
        store.set_variables(_state_batches(store, upto_batch) | {TRAITS_SINCE_VARIABLE: traits_since or 0})
        store.refill_table_as(NEW_STATE_TABLE, state.events)
        if traits_since is None:
            store.refill_table_as(TRAIT_STATE_TABLE, state.traits_made)
        else:
            store.refill_table_as(NEW_TRAIT_STATE_TABLE, state.traits)
        store.replace_rows_as(STATE_TABLE, f"SELECT * FROM {NEW_STATE_TABLE}", state.event_columns, KEYS_TABLE)
        if traits_since is not None:
            _replace_trait_rows(store)
        store.prepared[TRAIT_STATE_MARK] = _trait_state_mark(store, upto_batch)
        for name in (STATE_TABLE, TRAIT_STATE_TABLE):
            store.compact_scratch(name)
        folded = int(store.query_rows(f"SELECT count(*) AS n FROM {NEW_STATE_TABLE} WHERE st_folded")[0]["n"])
    store.replace_rows_as(SCORES_TABLE, prepared.scores_query, prepared.columns, KEYS_TABLE)
    return store.count(KEYS_TABLE), folded


def _trait_state_mark(store: Store, upto_batch: int) -> tuple[int, dt.datetime]:
    """The batch and moment the trait state is now made up to."""
    return upto_batch, store.query_rows(f"SELECT as_of FROM {PARAMETERS_TABLE}")[0]["as_of"]


def _traits_since(store: Store) -> int | None:
    """The batch the kept trait state was made up to, if the current run can fold into it: the
    last run kept it (it is made up to that run's last batch, whose later facts the current run
    rescores) at a moment not after the current run's. None: it is made again from the facts."""
    mark = store.prepared.get(TRAIT_STATE_MARK)
    if mark is None:
        return None
    parameters = store.query_rows(f"SELECT as_of, since_batch FROM {PARAMETERS_TABLE}")[0]
    upto, moment = mark
    return upto if upto == parameters["since_batch"] and moment <= parameters["as_of"] else None


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


def prepare_rescore(
    store: Store,
    playbook: Playbook,
    as_of: dt.datetime,
    since_batch: int,
    since_seq: int = 0,
    also: Sequence[int] = (),
    engagement_since: ir.Table | None = None,
    keep_state: bool | None = None,
) -> PreparedRescore:
    """Fill the tables an incremental run reads and return its compiled SQL (run by
    :func:`apply_rescore`): the moment and the last run's batch in ``scoring_parameters``, the
    leads touched since (and ``also``) in ``touched_keys`` and ``also_keys``, the leads to
    rescore in ``rescore_keys``. ``keep_state``: whether to fold the
    new events into the leads' event state (where the engine keeps one) instead of reading
    their histories; None: when the store's histories are long enough for it to pay
    (:func:`folding_pays`).

    The SQL is compiled once per playbook and shape (see :class:`PreparedRescore`) and run
    again by every later cycle; ``bench/scoring_insert.py`` times the two alone.
    """
    _set_parameters(store, as_of, since_batch)
    store.replace_table_from_arrow("also_keys", pa.table({"lead_key": pa.array(sorted(set(also)), pa.int64())}))
    store.touched_lead_keys(since_batch, since_seq)
    widen = rolls_contacts_up(playbook) or store.account_traits_changed_since(since_batch)
    span = year_span(as_of)
    keeps_state = keeps_event_state(store) and (folding_pays(store) if keep_state is None else keep_state)
    if keeps_state:
        _event_state_for(store, playbook, span)
    key = ("rescore", playbook.digest, playbook.version, widen, engagement_since is not None, span, keeps_state)
    prepared = store.kept(
        key, lambda: PreparedRescore.compile(store, playbook, widen, engagement_since, span, keeps_state)
    )
    store.replace_table_as(KEYS_TABLE, prepared.keys_query)
    return prepared


@dataclass(frozen=True)
class KeptStateSql:
    """The compiled SQL of the state an incremental run keeps (see :func:`keeps_event_state`)."""

    events: str  # the rescored leads' event state
    event_columns: list[str]
    traits: str  # the new rows of the trait state
    traits_made: str  # the whole trait state, made from the facts


@dataclass(frozen=True)
class PreparedRescore:
    """The compiled SQL of an incremental run: the keys to rescore, and their scores."""

    keys_query: str
    scores_query: str
    columns: list[str]
    state: KeptStateSql | None = None

    @classmethod
    def compile(
        cls,
        store: Store,
        playbook: Playbook,
        widen: bool,
        engagement_since: ir.Table | None,
        span: tuple[int, int],
        keeps_state: bool = False,
    ) -> PreparedRescore:
        """``widen``: also rescore the other contacts of the touched leads' accounts (see
        :func:`rescore_keys`); ``span``: the epochs the runs' moments will be in (see
        :func:`~leadgate.scoring.moment.year_span`)."""
        facts = store.facts()
        parameters = store.backend.table(PARAMETERS_TABLE)
        moment = moment_parameter(parameters, span)
        touched = store.backend.table("touched_keys").union(store.backend.table("also_keys"), distinct=True)
        if widen:
            since_batch = parameters.since_batch.as_scalar()
            keys = rescore_keys(facts, touched, moment, since_batch, rolls_contacts_up(playbook))
        else:  # no account columns depend on other contacts, and no account changed: the touched leads alone
            keys = touched.select("lead_key").distinct()
        keys_query = store.table_sql(keys)
        if not store.has_table(KEYS_TABLE):  # the scoring expression needs the table's columns
            store.replace_table_as(KEYS_TABLE, keys_query)
        only = store.backend.table(KEYS_TABLE)
        if not keeps_state:
            scores = stamped(
                score_leads(facts, playbook, moment, only_keys=only, engagement_since=engagement_since),
                playbook,
                moment,
            )
            return cls(keys_query, store.sql(scores), list(scores.schema().names))
        state = EventState(playbook, facts, moment, engagement_since)
        people = facts.person_keys.filter(facts.person_keys.lead_key.isin(only.lead_key))
        key_counts = people.group_by("lead_key").aggregate(keys=people.count())
        batches = (variable(STATE_SINCE_VARIABLE).name("since"), variable(STATE_UPTO_VARIABLE).name("upto"))
        new_state = state.updated(
            store.backend.table(STATE_TABLE), only, batches, key_counts, store.backend.table("also_keys")
        )
        new_state_rows = store.backend.table(NEW_STATE_TABLE)
        aggregates = state.aggregates(new_state_rows)
        traits = TraitState(playbook, facts, moment)
        kept_traits = store.backend.table(TRAIT_STATE_TABLE)
        reread = new_state_rows.filter(~new_state_rows.st_folded).select("lead_key")
        new_traits = traits.updated(
            kept_traits, (variable(TRAITS_SINCE_VARIABLE).name("traits_since"), batches[1]), only, reread
        )
        scores = stamped(
            score_leads(facts, playbook, moment, only, engagement_since, aggregates, kept_traits), playbook, moment
        )
        kept = KeptStateSql(
            store.sql(new_state), list(state.schema().names), store.sql(new_traits), store.sql(traits.made(batches[1]))
        )
        return cls(keys_query, store.sql(scores), list(scores.schema().names), kept)


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


def _event_state_for(store: Store, playbook: Playbook, span: tuple[int, int]) -> None:
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


def engagement_restarts(store: Store) -> ir.Table | None:
    """``(lead_key, since)`` of recycled leads whose engagement restarted (None when there is none)."""
    if not store.any_engagement_restart():  # a plain query: this runs in every cycle
        return None
    state = store.backend.table(LEAD_STATE_TABLE)
    return state.filter(state.engagement_since.notnull()).select(state.lead_key, since=state.engagement_since)


def stamped(scores: ir.Table, playbook: Playbook, as_of: dt.datetime | Moment) -> ir.Table:
    """Scores with the moment and playbook version they were computed for."""
    return scores.mutate(as_of=fixed_moment(as_of).stamp, playbook_version=ibis.literal(playbook.version))


def rescore_keys(
    facts: Facts,
    touched: ir.Table,
    as_of: dt.datetime | Moment,
    since_batch: int | ir.IntegerValue,
    rolls_up: bool = True,
) -> ir.Table:
    """The touched leads plus every contact of an account whose traits changed and, when the
    playbook rolls contacts up into their account (``rolls_up``: an account score or buying
    roles), every contact of an account a touched lead belongs to."""
    traits = facts.traits
    accounts = traits.filter((traits.batch_id > since_batch) & (traits.entity_type == "account")).select(
        account_id=traits.entity_id
    )
    if rolls_up:
        accounts = account_membership(facts, as_of, touched).select("account_id").union(accounts)
    return touched.select("lead_key").union(members_of(facts, accounts, as_of)).distinct()


def rolls_contacts_up(playbook: Playbook) -> bool:
    """Whether a lead's account columns depend on its account's other contacts."""
    accounts = playbook.model.accounts
    return accounts.score is not None or bool(accounts.buying_roles)


def members_of(facts: Facts, accounts: ir.Table, as_of: dt.datetime | Moment) -> ir.Table:
    """The leads whose latest account (as of ``as_of``) is one of ``accounts``.

    Only a lead with a membership fact naming one of them can be one, so the latest membership
    is worked out for those candidates alone: an incremental run then costs what its accounts
    hold, not what every lead's history holds.
    """
    identities = facts.identities
    # Joined, not tested with IN: DuckDB hashed the many membership facts then, not the few
    # accounts. Each lead once: a lead's membership is restated by every update of its profile.
    named = accounts.select(named_id="account_id").distinct()
    memberships = identities.filter(identities.kind == "account")
    naming_them = memberships.inner_join(named, memberships.to_id == named.named_id)
    candidates = naming_them.select(lead_key=naming_them.entity_key).distinct()
    membership = account_membership(facts, as_of, candidates)
    return membership.filter(membership.account_id.isin(accounts.account_id)).select("lead_key")


def last_scored_at(store: Store) -> dt.datetime | None:
    """The as-of time of the latest scoring run (None before the first)."""
    last = store.last_scoring_run()
    return last["as_of"] if last else None  # type: ignore[return-value]
