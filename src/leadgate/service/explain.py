"""Explain one lead's score: score it (and its account's other contacts) on the spot, or
explain the scores the latest run stored for it.

The queries read the lead and the moment from a small table registered for the call, so
their SQL is compiled once per playbook and kept on the connection (see
:class:`PreparedExplanation`): an explanation then costs what the queries cost to run. Scoring
on the spot still runs the whole scoring plan (some 200 operators, about 100 ms to plan and run
even over a handful of rows); :func:`explain_stored` reads one stored row and the evidence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from leadgate.errors import NotFound
from leadgate.playbook.compiled import Playbook
from leadgate.scoring.engine import score_leads
from leadgate.scoring.events import EventPlan
from leadgate.scoring.explain import Explanation, build_explanation
from leadgate.scoring.moment import moment_parameter, moment_row
from leadgate.scoring.snapshots import account_membership
from leadgate.service.scoring import SCORES_TABLE, engagement_restarts
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore

PARAMETERS_TABLE = "explain_parameters"  # the lead and the moment of one explanation (one row)
KEYS_TABLE = "explain_keys"  # the lead and its account's other contacts


def explain_lead(store: Store, playbook: Playbook, lead_id: str, as_of: dt.datetime) -> Explanation:
    """The explanation of ``lead_id``'s score as of ``as_of``."""
    lead_key = store.lead_key_of(lead_id)
    if lead_key is None:
        raise NotFound(f"no lead with the id {lead_id!r}", listed_by="leadgate leads")
    parameters = moment_row(as_of).append_column("lead_key", pa.array([lead_key], pa.int64()))
    with store.few_leads(), store.parameters(PARAMETERS_TABLE, parameters):
        prepared = PreparedExplanation.of(store, playbook)
        # the lead and its account's other contacts (an account score rolls them up), looked up
        # first: scoring a known handful of keys is planned well, a subquery of them is not
        keys = [row["lead_key"] for row in store.query_rows(prepared.keys_query)]
        with store.parameters(KEYS_TABLE, pa.table({"lead_key": pa.array(keys, pa.int64())})):
            rows = store.query_rows(prepared.scores_query)
        evidence = store.query_rows(prepared.evidence_query)
    stage = LifecycleStore(store).state(lead_key).stage
    return build_explanation(playbook, rows[0], evidence[0] if evidence else {}, as_of, stage.value)


def explain_stored(store: Store, playbook: Playbook, lead_key: int) -> Explanation | None:
    """The explanation of the scores the latest run stored for the lead (``lead_scores``: what
    the queue shows and what its qualification saw), as of the moment they were computed.

    None when no stored row stands for the lead under ``playbook``: no run of this playbook yet
    (a changed playbook rescores every lead on its first run), the lead not scored yet, or its
    engagement restarted after its row was computed.
    """
    last = store.last_scoring_run()
    if last is None or last["playbook_digest"] != playbook.digest or not store.has_table(SCORES_TABLE):
        return None
    row = store.lead_row(SCORES_TABLE, lead_key)
    if not row:
        return None
    as_of: dt.datetime = row["as_of"]
    state = LifecycleStore(store).state(lead_key)
    if state.engagement_since is not None and state.engagement_since > as_of:
        return None
    parameters = moment_row(as_of).append_column("lead_key", pa.array([lead_key], pa.int64()))
    with store.few_leads(), store.parameters(PARAMETERS_TABLE, parameters):
        evidence = store.query_rows(PreparedExplanation.of(store, playbook).evidence_query)
    return build_explanation(playbook, row, evidence[0] if evidence else {}, as_of, state.stage.value)


@dataclass(frozen=True)
class PreparedExplanation:
    """The compiled SQL of an explanation: the keys to score, the lead's scored row, its rules' evidence."""

    keys_query: str
    scores_query: str
    evidence_query: str

    @classmethod
    def of(cls, store: Store, playbook: Playbook) -> PreparedExplanation:
        """The kept queries for this playbook, compiled on first use (within the registration
        of :data:`PARAMETERS_TABLE`, whose columns the expressions need)."""
        restarts = engagement_restarts(store)
        key = ("explanation", playbook.digest, playbook.version, restarts is not None)
        return store.kept(key, lambda: cls._compile(store, playbook, restarts))

    @classmethod
    def _compile(cls, store: Store, playbook: Playbook, restarts: ir.Table | None) -> PreparedExplanation:
        facts = store.facts()
        parameters = store.backend.table(PARAMETERS_TABLE)
        moment = moment_parameter(parameters)
        single = parameters.select("lead_key")
        own = account_membership(facts, moment, single).select("account_id")
        links = facts.identities
        linked = links.filter(links.kind == "account", links.to_id.isin(own.account_id), links.entity_key.notnull())
        candidates = linked.select(lead_key=linked.entity_key).distinct()
        current = account_membership(facts, moment, candidates)
        neighbours = current.filter(current.account_id.isin(own.account_id)).select("lead_key")
        keys = single.union(neighbours).distinct()
        # the keys' table exists only while a call runs: compile against its schema
        scored_keys = ibis.table({"lead_key": "int64"}, name=KEYS_TABLE)
        scores = score_leads(facts, playbook, moment, only_keys=scored_keys, engagement_since=restarts)
        scored = scores.filter(scores.lead_key.isin(single.lead_key))
        evidence = EventPlan(playbook, facts, moment, restarts).evidence(single)
        return cls(store.sql(keys), store.sql(scored), store.sql(evidence))
