"""Explain one lead's score: score it (and its account's other contacts) on the spot."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa

from leadgate.errors import NotFound
from leadgate.playbook.compiled import Playbook
from leadgate.scoring.engine import score_leads
from leadgate.scoring.events import EventPlan
from leadgate.scoring.explain import Explanation, build_explanation
from leadgate.scoring.snapshots import account_membership
from leadgate.service.scoring import engagement_restarts
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore


def explain_lead(store: Store, playbook: Playbook, lead_id: str, as_of: dt.datetime) -> Explanation:
    """The explanation of ``lead_id``'s score as of ``as_of``."""
    facts = store.facts()
    leads = facts.leads()
    found = leads.filter(leads.lead_id == lead_id).select("lead_key").to_pyarrow().column(0).to_pylist()
    if not found:
        raise NotFound(f"no lead with the id {lead_id!r} (see 'leadgate leads')")
    lead_key = int(found[0])
    membership = account_membership(facts, as_of)
    own = membership.filter(membership.lead_key == lead_key).select("account_id")
    neighbours = membership.filter(membership.account_id.isin(own.account_id)).select("lead_key")
    single = ibis.memtable(pa.table({"lead_key": pa.array([lead_key], pa.int64())}))
    keys = single.union(neighbours).distinct()
    restarts = engagement_restarts(store)
    rows = (
        score_leads(facts, playbook, as_of, only_keys=keys, engagement_since=restarts)
        .filter(ibis._.lead_key == lead_key)
        .to_pyarrow()
        .to_pylist()
    )
    evidence = EventPlan(playbook, facts, as_of, restarts).evidence(single).to_pyarrow().to_pylist()
    stage = LifecycleStore(store).state(lead_key).stage
    return build_explanation(playbook, rows[0], evidence[0] if evidence else {}, as_of, stage.value)
