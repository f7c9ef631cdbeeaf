"""Property tests of the hand-off: random events, cycles and decisions, in time order.

Whatever happens, (1) no recorded transition is outside the stage machine's table, (2) after
every cycle each MQL and PQL has an owner (a rep, or a manager's queue), and (3) the states
the store shows are exactly the fold of the recorded facts; (4) a second cycle at the same
moment adds nothing, whatever the playbook does on an SLA breach.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from leadgate.errors import UserError
from leadgate.lifecycle.decisions import Decision
from leadgate.lifecycle.facts import TransitionFact
from leadgate.playbook.compiled import Playbook
from leadgate.playbook.loader import parse_playbook
from leadgate.service.cycle import run_cycle
from leadgate.service.decisions import apply_decision
from leadgate.store.duckdb_store import DuckDBStore
from leadgate.store.lifecycle_store import LifecycleStore
from leadgate.workspace import example_playbook_text
from tests.lifecycle_checks import check_all_routed, check_facts_and_states
from tests.worlds import World

PLAYBOOKS = {  # one per SLA breach action
    action: parse_playbook(
        example_playbook_text().replace("on_sla_breach: reassign", f"on_sla_breach: {action}"), "playbook.yaml"
    )
    for action in ("reassign", "escalate", "recycle")
}
FACT_TABLES = ("transitions", "assignments", "decisions", "sla_breaches", "lead_state")
LEADS = ("ann", "ben", "cat", "dan")
REPS = ("alice", "bruno", "carla", "dev", "erin", "farah", "gus", "hana", "ines")
START = dt.datetime(2026, 11, 2, 8, 0)
EVENTS = ("demo_requested", "demo_requested", "contact_sales_form", "page_view", "feature_used")

event_step = st.tuples(st.just("event"), st.sampled_from(LEADS), st.sampled_from(EVENTS))
cycle_step = st.tuples(st.just("cycle"), st.just(""), st.just(""))
decision_step = st.tuples(
    st.just("decide"),
    st.sampled_from(LEADS),
    st.sampled_from(
        [
            "accept",
            "reject:no_budget",
            "reject:not_icp",
            "reject:bad_contact_data",
            "qualify",
            "disqualify:spam",
            "won",
            "lost",
            "opportunity",
        ]
    ),
)
# Decisions follow cycles (there is nothing to decide before), so the lists favour both.
steps = st.lists(
    st.tuples(st.one_of(event_step, cycle_step, decision_step, cycle_step, decision_step), st.integers(1, 30)),
    min_size=6,
    max_size=16,
)


def build(store: DuckDBStore) -> World:
    """Four leads; the first three qualify as soon as they ask for a demo."""
    world = World(store)
    world.account("acme", employees=1500, industry="Software", country="FR", owner="carla")
    world.account("beta", employees=300, industry="Retail", country="FR")
    world.lead("ann", account="acme", role="CTO", budget_estimate=20000)
    world.lead("ben", account="beta", role="Head")
    world.lead("cat", account="beta", role="Engineer", budget_estimate=50000, need_maturity="project_planned")
    world.lead("dan", role="CEO")
    return world.save()


def decide(store: DuckDBStore, playbook: Playbook, lead: str, what: str, actor: str, when: dt.datetime) -> None:
    kind, _, reason = what.partition(":")
    checklist = ("budget", "authority", "need", "timeline") if kind == "qualify" else ()
    before = LifecycleStore(store).facts_by_lead()
    try:
        apply_decision(store, playbook, Decision(kind, lead, actor, when, reason=reason or None, checklist=checklist))
    except UserError:
        assert LifecycleStore(store).facts_by_lead() == before, "a refused decision changed the facts"


def check_invariants(store: DuckDBStore, after_cycle: bool) -> None:
    states = check_facts_and_states(store)
    if after_cycle:
        check_all_routed(states)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=steps,
    actors=st.lists(st.sampled_from(REPS), min_size=16, max_size=16),
    breach_action=st.sampled_from(sorted(PLAYBOOKS)),
)
def test_random_histories_keep_the_hand_off_sound(
    steps: list[tuple[tuple[str, str, str], int]], actors: list[str], breach_action: str
) -> None:
    playbook = PLAYBOOKS[breach_action]
    with tempfile.TemporaryDirectory() as folder:
        store = DuckDBStore(Path(folder) / "leadgate.duckdb")
        world = build(store)
        moment = START
        for index, ((kind, lead, what), hours) in enumerate(steps):
            moment += dt.timedelta(hours=hours)
            if kind == "event":
                world.did(lead, what, moment.isoformat()).save()
            elif kind == "cycle":
                run_cycle(store, playbook, moment)
                counts = {table: store.count(table) for table in FACT_TABLES}
                run_cycle(store, playbook, moment)  # a second cycle at the same moment adds nothing
                assert {table: store.count(table) for table in FACT_TABLES} == counts
            else:
                lead = _lead_for(store, what, lead)
                state = LifecycleStore(store).states().get(_key(store, lead))
                owner = state.owner if state is not None and state.owner and index % 3 else actors[index]
                decide(store, playbook, lead, what, owner, moment)
            check_invariants(store, after_cycle=kind == "cycle")
        for target in {
            fact.target
            for facts in LifecycleStore(store).facts_by_lead().values()
            for fact in facts
            if isinstance(fact, TransitionFact)
        }:
            event(f"a lead reached {target}")  # shown by --hypothesis-show-statistics
        store.close()


_WANTS = {
    "accept": "sal_pending",
    "reject": "sal_pending",
    "qualify": "sal",
    "opportunity": "sql",
    "won": "sql",
    "lost": "sql",
}


def _lead_for(store: DuckDBStore, what: str, drawn: str) -> str:
    """A lead the decision applies to, when there is one (else the drawn lead, to be refused)."""
    wanted = _WANTS.get(what.partition(":")[0])
    states = LifecycleStore(store).states()
    for lead in LEADS:
        state = states.get(_key(store, lead))
        if state is not None and state.stage.value == wanted:
            return lead
    return drawn


def _key(store: DuckDBStore, lead: str) -> int:
    row = store._one("SELECT lead_key FROM person_keys WHERE id_value = ?", [lead])
    assert row is not None
    return int(row[0])
