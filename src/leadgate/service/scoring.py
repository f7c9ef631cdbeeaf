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
from leadgate.scoring.moment import Moment, fixed_moment, moment_parameter, moment_row, year_span
from leadgate.scoring.snapshots import account_membership
from leadgate.service.kept_state import (
    KeptStateSql,
    fold_into_state,
    folding_pays,
    keeps_event_state,
    make_state_tables,
)
from leadgate.service.scoring_tables import KEYS_TABLE, PARAMETERS_TABLE, SCORES_TABLE
from leadgate.store.base import Store
from leadgate.store.facts import Facts
from leadgate.store.schema import LEAD_STATE_TABLE

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
    store.replace_scratch_from_arrow(PARAMETERS_TABLE, parameters)


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
    folded = 0 if prepared.state is None else fold_into_state(store, prepared.state, upto_batch)
    store.replace_rows_as(SCORES_TABLE, prepared.scores_query, prepared.columns, KEYS_TABLE)
    return store.count(KEYS_TABLE), folded


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
    store.replace_scratch_from_arrow("also_keys", pa.table({"lead_key": pa.array(sorted(set(also)), pa.int64())}))
    store.touched_lead_keys(since_batch, since_seq)
    widen = rolls_contacts_up(playbook) or store.account_traits_changed_since(since_batch)
    span = year_span(as_of)
    keeps_state = keeps_event_state(store) and (folding_pays(store) if keep_state is None else keep_state)
    if keeps_state:
        make_state_tables(store, playbook, span)
    key = ("rescore", playbook.digest, playbook.version, widen, engagement_since is not None, span, keeps_state)
    prepared = store.kept(
        key, lambda: PreparedRescore.compile(store, playbook, widen, engagement_since, span, keeps_state)
    )
    store.replace_scratch_as(KEYS_TABLE, prepared.keys_query)
    return prepared


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
            store.replace_scratch_as(KEYS_TABLE, keys_query)
        only = store.backend.table(KEYS_TABLE)
        kept, aggregates, kept_traits = None, None, None  # without a kept state, the histories are read
        if keeps_state:
            kept, aggregates, kept_traits = KeptStateSql.compile(store, playbook, facts, moment, only, engagement_since)
        scores = stamped(
            score_leads(facts, playbook, moment, only, engagement_since, aggregates, kept_traits), playbook, moment
        )
        return cls(keys_query, store.sql(scores), list(scores.schema().names), kept)


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
