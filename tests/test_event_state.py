"""The event and trait state kept between incremental runs (DuckDB): folding new facts into
it gives the scores that reading the whole histories gives, and each reason to read a history
again does make it read again."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadgate.playbook.loader import parse_playbook
from leadgate.service import kept_state
from leadgate.service.erasure import erase_person
from leadgate.service.kept_state import NEW_STATE_TABLE, TRAIT_STATE_MARK, TRAIT_STATE_TABLE, keeps_event_state
from leadgate.service.scoring import SCORES_TABLE, run_scoring
from leadgate.store.base import Store
from leadgate.store.duckdb_store import DuckDBStore
from leadgate.workspace import example_playbook_text
from tests.test_scoring_runs import same, stored
from tests.worlds import World, at

PLAYBOOK = parse_playbook(example_playbook_text(), "playbook.yaml")
PRICING = "/pricing"


@pytest.fixture
def world(tmp_path, monkeypatch) -> World:  # type: ignore[no-untyped-def]
    """A DuckDB world whose short histories are folded all the same."""
    monkeypatch.setattr(kept_state, "FOLD_FROM_EVENTS_PER_KEY", 0)
    store = DuckDBStore(str(tmp_path / "leadgate.duckdb"))
    try:
        yield World(store)
    finally:
        store.close()


def folded_leads(store: Store) -> dict[str, bool]:
    """Per lead id rescored by the last run: whether its new events were folded into its state."""
    rows = store.query_rows(
        f"SELECT p.id_value AS lead, s.st_folded AS folded FROM {NEW_STATE_TABLE} s "
        "JOIN person_keys p ON p.first_key = s.lead_key AND p.lead_key = s.lead_key AND p.id_kind = 'user'"
    )
    return {row["lead"]: row["folded"] for row in rows}


def incremental_agrees_with_full(store: DuckDBStore, moment: str) -> dict[str, bool]:
    """Run incrementally at ``moment``, then in full at the same moment; every rescored lead's
    row must be the same both ways (up to the order floating-point sums add up in). Returns
    which leads were folded."""
    run = run_scoring(store, PLAYBOOK, at(moment), incremental=True)
    assert run.kind == "incremental"
    paths = folded_leads(store)
    assert run.leads_folded == sum(paths.values())
    counts = store.query_rows(f"SELECT count(*) AS rows, count(DISTINCT lead_key) AS leads FROM {SCORES_TABLE}")[0]
    assert counts["rows"] == counts["leads"]  # one row a lead, whatever the state holds
    incremental = stored(store)
    run_scoring(store, PLAYBOOK, at(moment))
    full = stored(store)
    for lead in paths:
        assert same(incremental[lead], full[lead]), (lead, moment)
    return paths


def build(world: World) -> World:
    world.account("acme", employees=1200, industry="Software", country="FR")
    world.lead("ann", account="acme", role="CTO").lead("ben", account="acme", role="Engineer")
    world.lead("cat", role="Student", email="cat@gmail.com")
    world.did("ann", "webinar_attended", "2026-11-01T10:00:00")
    world.did("ben", "page_view", "2026-11-02T10:00:00", path="/product/analytics")
    world.did(None, "page_view", "2026-11-02T11:00:00", anonymous_id="anon-1", path=PRICING)
    world.did("cat", "email_clicked", "2026-11-03T10:00:00")
    return world.save()


def test_folding_new_events_gives_what_reading_the_histories_gives(world: World) -> None:
    store = build(world).store
    assert isinstance(store, DuckDBStore) and keeps_event_state(store)
    run_scoring(store, PLAYBOOK, at("2026-11-04T00:00:00"))  # in full: no state yet

    # No state on this connection yet: every history is read, and kept.
    world.did("ann", "page_view", "2026-11-05T10:00:00", path=PRICING)
    world.did("ben", "feature_used", "2026-11-05T10:00:00", feature="reports")
    world.did("cat", "page_view", "2026-11-05T10:00:00", path="/blog")
    world.save()
    assert incremental_agrees_with_full(store, "2026-11-05T12:00:00") == {"ann": False, "ben": False, "cat": False}

    # Same day, more of everything: decay, a second pricing visit on a capped day, a second
    # distinct feature, a distinct day, a windowed demo request; all folded.
    world.did("ann", "page_view", "2026-11-05T15:00:00", path=PRICING)
    world.did("ann", "trial_started", "2026-11-05T15:30:00")
    world.did("ben", "feature_used", "2026-11-05T16:00:00", feature="api")
    world.did("ben", "session_started", "2026-11-05T16:05:00")
    world.did("ben", "teammate_invited", "2026-11-05T16:10:00")
    world.did("cat", "demo_requested", "2026-11-05T17:00:00")
    world.save()
    assert incremental_agrees_with_full(store, "2026-11-05T18:00:00") == {"ann": True, "ben": True, "cat": True}

    # New days close the kept pricing day (ben); a visit on a day before ann's kept one makes
    # her history be read; an event dated after the run's moment waits for its time (cat, who
    # also has one that counts now).
    world.did("ben", "page_view", "2026-11-06T09:00:00", path=PRICING)
    world.did("ben", "page_view", "2026-11-07T08:00:00", path=PRICING)
    world.did("ben", "session_started", "2026-11-06T09:30:00")
    world.did("ann", "page_view", "2026-11-04T09:00:00", path=PRICING)
    world.did("cat", "webinar_attended", "2026-11-08T10:00:00")
    world.did("cat", "email_clicked", "2026-11-07T08:30:00")
    world.save()
    assert incremental_agrees_with_full(store, "2026-11-07T09:00:00") == {"ann": False, "ben": True, "cat": True}

    # cat's webinar is now due: read again; an alias brings anon-1's pricing visit to ben
    # (one more person key): read again; ann folds.
    world.did("cat", "email_clicked", "2026-11-09T10:00:00")
    world.did("ann", "page_view", "2026-11-09T10:00:00", path="/blog")
    world.alias("anon-1", "ben", "2026-11-09T10:00:00")
    world.did("ben", "page_view", "2026-11-09T10:30:00", path="/docs")
    world.save()
    assert incremental_agrees_with_full(store, "2026-11-09T12:00:00") == {"ann": True, "ben": False, "cat": False}

    # Eleven days on: ann's pricing visits and cat's demo request left their 7-day windows,
    # ben's first features the 14-day product window: all read again.
    for lead in ("ann", "ben", "cat"):
        world.did(lead, "page_view", "2026-11-20T10:00:00", path="/blog")
    world.save()
    assert incremental_agrees_with_full(store, "2026-11-20T12:00:00") == {"ann": False, "ben": False, "cat": False}


def test_a_fold_reads_only_the_new_batches_and_a_rescore_on_request_reads_the_history(world: World) -> None:
    """Proof that the fold does not read the history: an old event taken out of the store
    behind leadgate's back still counts for a folded lead, and stops counting once the lead
    is rescored on request (``also``: an erasure, a move), which reads its history."""
    store = build(world).store
    run_scoring(store, PLAYBOOK, at("2026-11-04T00:00:00"))
    world.did("ann", "whitepaper_downloaded", "2026-11-04T10:00:00").save()
    run_scoring(store, PLAYBOOK, at("2026-11-04T12:00:00"), incremental=True)  # ann's state is made
    store._run("DELETE FROM events WHERE event = 'whitepaper_downloaded'")
    world.did("ann", "page_view", "2026-11-05T10:00:00", path="/blog").save()
    run = run_scoring(store, PLAYBOOK, at("2026-11-05T12:00:00"), incremental=True)
    assert run.leads_folded >= 1 and folded_leads(store)["ann"]
    assert stored(store)["ann"]["c_engagement_3"] > 0  # the whitepaper, from the state
    key = store.query_rows("SELECT lead_key FROM person_keys WHERE id_value = 'ann'")[0]["lead_key"]
    run_scoring(store, PLAYBOOK, at("2026-11-05T12:00:00"), incremental=True, also=[key])
    assert folded_leads(store)["ann"] is False
    assert stored(store)["ann"]["c_engagement_3"] == 0  # read again: the whitepaper is gone


def test_kept_traits_give_what_reading_the_trait_facts_gives(world: World) -> None:
    """Traits that change, learnt late or early, dated after the run's moment, brought by an
    alias, erased: the kept latest traits give the facts' snapshot at every run."""
    store = build(world).store
    run_scoring(store, PLAYBOOK, at("2026-11-04T00:00:00"))
    world.did("ann", "page_view", "2026-11-04T10:00:00", path="/blog").did("cat", "page_view", "2026-11-04T10:00:00")
    world.save()
    made = incremental_agrees_with_full(store, "2026-11-04T12:00:00")  # the state is made (ben: ann's account)
    assert made == {"ann": False, "ben": False, "cat": False}

    # Changed traits (a lead's, an account's, which rescores its contacts), one learnt before
    # the kept one (it does not win), one learnt after the run's moment (not yet).
    world.lead("ann", role="Student", learnt_at="2026-11-05T09:00:00")
    world.lead("cat", role="CTO", learnt_at="2025-06-01T00:00:00")
    world.lead("ben", role="CTO", budget_estimate=50000, learnt_at="2026-11-06T10:00:00")
    world.lead("cat", budget_estimate=20000, learnt_at="2026-11-06T10:00:00")
    world.account("acme", employees=40, learnt_at="2026-11-05T08:00:00")
    world.save()
    assert incremental_agrees_with_full(store, "2026-11-05T12:00:00") == {"ann": True, "ben": True, "cat": True}
    rows = stored(store)
    assert rows["ann"]["c_fit_4"] == -25 and rows["cat"]["c_fit_4"] == -25  # Student: learnt later, or kept
    assert rows["ben"]["c_fit_3"] == 0 and rows["ann"]["c_fit_1"] == 0  # ben's CTO is not known yet; 40 staff
    assert rows["cat"]["c_fit_6"] == 0

    # Ben's role and cat's budget are now due; an alias brings old-ben's project to ben (his
    # facts are read again); cat's kept traits take her budget.
    world.lead("old-ben", need_maturity="project_planned", learnt_at="2026-10-01T00:00:00")
    world.save()
    world.alias("old-ben", "ben", "2026-11-07T08:00:00")
    world.did("ben", "page_view", "2026-11-07T08:30:00", path="/blog")
    world.did("cat", "page_view", "2026-11-07T08:30:00", path="/blog")
    world.save()
    assert incremental_agrees_with_full(store, "2026-11-07T09:00:00") == {"ann": True, "ben": False, "cat": True}
    rows = stored(store)
    assert rows["ben"]["c_fit_3"] == 15 and rows["ben"]["c_fit_6"] == 15 and rows["ben"]["c_fit_7"] == 15
    assert rows["cat"]["c_fit_6"] == 15

    # An erasure deletes ann's traits: she is rescored, her kept traits with her.
    erased = erase_person(store, PLAYBOOK, "ann", at("2026-11-08T00:00:00"))
    assert stored(store)[erased.known_now_as]["c_fit_4"] == 0
    world.did("cat", "page_view", "2026-11-08T10:00:00", path="/blog").save()
    assert incremental_agrees_with_full(store, "2026-11-08T12:00:00") == {"cat": True}


def test_a_fold_reads_only_the_new_trait_facts(world: World) -> None:
    """Proof that the kept traits are folded into, not made again: a trait fact taken out of
    the store behind leadgate's back still counts for a folded lead, and stops counting once
    the lead is rescored on request."""
    store = build(world).store
    run_scoring(store, PLAYBOOK, at("2026-11-04T00:00:00"))
    world.did("ann", "page_view", "2026-11-04T10:00:00", path="/blog").save()
    run_scoring(store, PLAYBOOK, at("2026-11-04T12:00:00"), incremental=True)  # the trait state is made
    assert store.prepared[TRAIT_STATE_MARK] == (store.last_batch_id(), at("2026-11-04T12:00:00"))
    assert store.count(TRAIT_STATE_TABLE) > 0
    store._run("DELETE FROM traits WHERE entity_type = 'lead' AND name = 'role'")
    world.did("ann", "page_view", "2026-11-05T10:00:00", path="/blog").save()
    run_scoring(store, PLAYBOOK, at("2026-11-05T12:00:00"), incremental=True)
    assert folded_leads(store)["ann"]
    assert stored(store)["ann"]["c_fit_3"] == 15  # CTO, from the kept traits
    key = store.query_rows("SELECT lead_key FROM person_keys WHERE id_value = 'ann'")[0]["lead_key"]
    run_scoring(store, PLAYBOOK, at("2026-11-05T12:00:00"), incremental=True, also=[key])
    assert stored(store)["ann"]["c_fit_3"] == 0  # read again: the role is gone


def test_postgresql_keeps_no_event_state(store: Store) -> None:
    """Several server processes share a PostgreSQL store, and a state kept by one connection
    would miss what the others fold in: there every incremental run reads the histories."""
    assert keeps_event_state(store) == (store.engine == "duckdb")
    if store.engine == "postgres":
        world = build(World(store))
        run_scoring(store, PLAYBOOK, at("2026-11-04T00:00:00"))
        world.did("ann", "page_view", "2026-11-05T10:00:00", path=PRICING).save()
        run = run_scoring(store, PLAYBOOK, at("2026-11-05T12:00:00"), incremental=True)
        assert run.kind == "incremental" and run.leads_folded == 0 and not store.has_table(NEW_STATE_TABLE)
        assert store.count(SCORES_TABLE) == 3


def test_short_histories_are_read_again_rather_than_folded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Below FOLD_FROM_EVENTS_PER_KEY events a person key, reading the histories costs less
    than the state's own query: no state is kept, and none is folded into."""
    store = DuckDBStore(str(tmp_path / "leadgate.duckdb"))
    try:
        world = build(World(store))
        assert store.count("events") < kept_state.FOLD_FROM_EVENTS_PER_KEY * store.count("person_keys")
        run_scoring(store, PLAYBOOK, at("2026-11-04T00:00:00"))
        world.did("ann", "page_view", "2026-11-05T10:00:00", path=PRICING).save()
        run = run_scoring(store, PLAYBOOK, at("2026-11-05T12:00:00"), incremental=True)
        assert run.leads_folded == 0 and not store.has_table(NEW_STATE_TABLE)
    finally:
        store.close()


EVENTS = (
    ("page_view", {"path": PRICING}),
    ("page_view", {"path": "/blog"}),
    ("page_view", {"path": "/product/analytics"}),
    ("whitepaper_downloaded", {"topic": "analytics"}),
    ("webinar_attended", {}),
    ("trial_started", {}),
    ("demo_requested", {}),
    ("contact_sales_form", {}),
    ("feature_used", {"feature": "reports"}),
    ("feature_used", {"feature": "api"}),
    ("session_started", {}),
    ("teammate_invited", {}),
)
TRAIT_FACTS = (  # the entity, then its trait
    ("ann", {"role": "Student"}),
    ("ann", {"role": "CTO"}),
    ("ben", {"budget_estimate": 20000}),
    ("cat", {"need_maturity": "project_planned"}),
    ("cat", {"need_maturity": "curious"}),
    ("acme", {"employees": 40}),
    ("acme", {"employees": 900}),
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.lists(
            st.tuples(
                st.sampled_from(("ann", "ben", "cat")),
                st.integers(0, len(EVENTS) - 1),
                st.integers(-30 * 24, 6),  # hours from the run's moment: mostly before, a few after
            ),
            min_size=1,
            max_size=8,
        ),
        min_size=2,
        max_size=5,
    ),
    gaps=st.lists(st.integers(1, 9 * 24), min_size=5, max_size=5),
    traits=st.lists(
        st.lists(st.tuples(st.integers(0, len(TRAIT_FACTS) - 1), st.integers(-30 * 24, 6)), max_size=3),
        min_size=5,
        max_size=5,
    ),
)
def test_folding_agrees_with_reading_the_histories_whatever_the_events(monkeypatch, steps, gaps, traits) -> None:  # type: ignore[no-untyped-def]
    """Random events and trait facts, some dated before the run's moment by up to 30 days
    (windows, closed days, backdated days, traits learnt before the kept ones), some after it
    (due at a later run), over runs hours to days apart: every incremental run gives the full
    scoring's rows, folded or read again."""
    monkeypatch.setattr(kept_state, "FOLD_FROM_EVENTS_PER_KEY", 0)
    with tempfile.TemporaryDirectory() as folder:
        store = DuckDBStore(str(Path(folder) / "leadgate.duckdb"))
        try:
            world = build(World(store))
            moment = at("2026-11-04T00:00:00")
            run_scoring(store, PLAYBOOK, moment)
            for step, gap, learnt in zip(steps, gaps, traits, strict=False):
                moment += dt.timedelta(hours=gap)
                for lead, index, hours in step:
                    event, properties = EVENTS[index]
                    world.did(lead, event, f"{moment + dt.timedelta(hours=hours):%Y-%m-%dT%H:%M:%S}", **properties)
                for index, hours in learnt:
                    entity, values = TRAIT_FACTS[index]
                    when = f"{moment + dt.timedelta(hours=hours):%Y-%m-%dT%H:%M:%S}"
                    add = world.account if entity == "acme" else world.lead
                    add(entity, learnt_at=when, **values)
                world.save()
                incremental_agrees_with_full(store, f"{moment:%Y-%m-%dT%H:%M:%S}")
        finally:
            store.close()
