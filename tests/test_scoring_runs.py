"""Full and incremental scoring runs, and explanations that add up."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from leadgate.domain.stages import Stage
from leadgate.lifecycle.facts import TransitionFact
from leadgate.lifecycle.machine import Cause
from leadgate.playbook.loader import parse_playbook
from leadgate.service.explain import explain_lead, explain_stored
from leadgate.service.scoring import SCORES_TABLE, rolls_contacts_up, run_scoring
from leadgate.store.duckdb_store import DuckDBStore
from leadgate.store.lifecycle_store import LifecycleStore
from leadgate.workspace import example_playbook_text
from tests.worlds import World, at

PLAYBOOK = parse_playbook(example_playbook_text(), "playbook.yaml")


def stored(store: DuckDBStore) -> dict[str, dict]:
    rows = store.backend.table(SCORES_TABLE).to_pyarrow().to_pylist()
    return {row["lead_id"]: row for row in rows}


def build(world: World) -> World:
    world.account("acme", employees=1200, industry="Software", country="FR")
    world.account("solo", employees=20, industry="Retail", country="BR")
    world.lead("ann", account="acme", role="CTO").lead("ben", account="acme", role="Engineer")
    world.lead("cat", account="solo", role="Student", email="cat@gmail.com").lead("dan")
    world.did("ann", "webinar_attended", "2026-11-01T10:00:00")
    world.did("ben", "page_view", "2026-11-02T10:00:00", path="/product/analytics")
    world.did("cat", "email_clicked", "2026-11-03T10:00:00")
    return world.save()


def same(left: dict, right: dict) -> bool:
    for name, value in left.items():
        other = right[name]
        if isinstance(value, float) and isinstance(other, float):
            if not (
                math.isclose(value, other, rel_tol=1e-12, abs_tol=1e-12) or (math.isnan(value) and math.isnan(other))
            ):
                return False
        elif value != other:
            return False
    return True


def test_incremental_rescoring_equals_full_rescoring_for_touched_leads(world: World) -> None:
    store = build(world).store
    first = run_scoring(store, PLAYBOOK, at("2026-11-10T00:00:00"))
    assert first.kind == "full" and first.leads_scored == 4
    before = stored(store)
    world.did("ben", "demo_requested", "2026-11-11T09:00:00").save()  # touches ben, and acme's roll-up (ann)
    run = run_scoring(store, PLAYBOOK, at("2026-11-12T00:00:00"), incremental=True)
    assert run.kind == "incremental" and run.leads_scored == 2
    after = stored(store)
    assert same(after["cat"], before["cat"]) and same(after["dan"], before["dan"])  # untouched: as of the 10th
    run_scoring(store, PLAYBOOK, at("2026-11-12T00:00:00"))
    full = stored(store)
    assert same(after["ben"], full["ben"]) and same(after["ann"], full["ann"])
    assert after["ben"]["c_engagement_7"] == 40 and after["ann"]["account_score"] == full["ann"]["account_score"]


def test_the_kept_sql_of_an_incremental_run_reads_each_run_s_own_moment(world: World) -> None:
    """The second and third incremental runs reuse the SQL compiled by the first; their
    decayed points must still be those of their own moment, as a full run at it finds."""
    store = build(world).store
    run_scoring(store, PLAYBOOK, at("2026-11-10T00:00:00"))
    world.did("ben", "demo_requested", "2026-11-11T09:00:00").save()
    run_scoring(store, PLAYBOOK, at("2026-11-12T00:00:00"), incremental=True)
    kept = dict(store.prepared)
    for day, event in (("2026-11-20", "2026-11-19T09:00:00"), ("2026-12-15", "2026-12-14T09:00:00")):
        world.did("ann", "demo_requested", event).save()  # touches ann, and acme's roll-up (ben)
        run = run_scoring(store, PLAYBOOK, at(f"{day}T00:00:00"), incremental=True)
        assert run.kind == "incremental" and run.leads_scored == 2
        assert store.prepared == kept  # nothing compiled again
        after = stored(store)
        run_scoring(store, PLAYBOOK, at(f"{day}T00:00:00"))
        full = stored(store)
        assert same(after["ann"], full["ann"]) and same(after["ben"], full["ben"])
        assert after["ben"]["as_of"] == at(f"{day}T00:00:00")
    # ben's demo request of the 11th has decayed by the 15th of December: less than on the 12th
    assert 0 < after["ben"]["engagement"] < stored(store)["ben"]["engagement"] + 1e-9


def test_the_kept_sql_of_an_incremental_run_serves_its_year_and_a_new_year_compiles_its_own(world: World) -> None:
    """The kept SQL holds the local-time offsets of its moment's year (see year_span). Pricing
    visits count once a local day (Paris): 23:30 UTC on the 31st and 10:00 on the 1st are both
    on the 1st there, so they count once, in the kept SQL as in a full run."""
    store = build(world).store
    run_scoring(store, PLAYBOOK, at("2026-12-30T00:00:00"))
    world.did("ben", "page_view", "2026-12-31T23:30:00", path="/pricing").save()
    run_scoring(store, PLAYBOOK, at("2026-12-31T23:45:00"), incremental=True)
    compiled = len(store.prepared)
    world.did("ben", "page_view", "2027-01-01T10:00:00", path="/pricing").save()
    run = run_scoring(store, PLAYBOOK, at("2027-01-02T00:00:00"), incremental=True)
    assert run.kind == "incremental" and len(store.prepared) == compiled + 1  # 2027's SQL
    after = stored(store)
    run_scoring(store, PLAYBOOK, at("2027-01-02T00:00:00"))
    assert same(after["ben"], stored(store)["ben"])
    pricing = next(rule for rule in PLAYBOOK.rules if rule.label == "Pricing page visit")
    assert 5 < after["ben"][pricing.column] < 10  # one visit's 10 points, decayed for a day


def test_without_account_roll_ups_only_the_touched_leads_are_rescored(world: World) -> None:
    text = example_playbook_text()
    start, end = text.index("  score:\n    contacts:"), text.index("  engaged_when:")
    flat = parse_playbook(text[:start] + text[end:].replace("account.coverage >= 2", "fit >= 0"), "p.yaml")
    assert not rolls_contacts_up(flat) and rolls_contacts_up(PLAYBOOK)
    store = build(world).store
    run_scoring(store, flat, at("2026-11-10T00:00:00"))
    world.did("ben", "demo_requested", "2026-11-11T09:00:00").save()
    run = run_scoring(store, flat, at("2026-11-12T00:00:00"), incremental=True)
    assert run.kind == "incremental" and run.leads_scored == 1  # ben alone: ann's row does not depend on ben
    after = stored(store)
    run_scoring(store, flat, at("2026-11-12T00:00:00"))
    full = stored(store)
    assert same(after["ben"], full["ben"])
    # ann was not rescored: her row is still the one as of the 10th, and only time separates it
    # from a full scoring (her decayed webinar); her account columns are the same.
    assert after["ann"]["account_score"] == full["ann"]["account_score"]
    world.account("acme", employees=80).save()  # an account change reaches every contact of acme
    changed = run_scoring(store, flat, at("2026-11-12T00:00:00"), incremental=True)
    assert changed.leads_scored == 2
    assert stored(store)["ann"]["c_fit_1"] == 0 and stored(store)["ann"]["c_fit_2"] == 10  # now 50-199 employees


def test_incremental_runs_in_full_when_the_playbook_changed(world: World) -> None:
    store = build(world).store
    run_scoring(store, PLAYBOOK, at("2026-11-10T00:00:00"))
    changed = parse_playbook(example_playbook_text().replace("version: 1", "version: 2"), "playbook.yaml")
    run = run_scoring(store, changed, at("2026-11-10T00:00:00"), incremental=True)
    assert run.kind == "full" and run.reason == "the playbook changed since the last run"


def test_incremental_runs_in_full_when_asked_for_an_earlier_moment(world: World) -> None:
    store = build(world).store
    run_scoring(store, PLAYBOOK, at("2026-11-10T00:00:00"))
    run = run_scoring(store, PLAYBOOK, at("2026-11-05T00:00:00"), incremental=True)
    assert run.kind == "full" and run.reason == "--as-of is before the last run's (2026-11-10 00:00)"
    assert run.leads_scored == 4


def test_explanations_add_up_for_every_lead(world: World) -> None:
    store = build(world).store
    moment = at("2026-11-10T00:00:00")
    run_scoring(store, PLAYBOOK, moment)
    for lead_id, row in stored(store).items():
        explanation = explain_lead(store, PLAYBOOK, lead_id, moment)
        assert explanation.score == pytest.approx(row["score"], abs=1e-9)
        assert sum(item.points for item in explanation.contributions) == pytest.approx(explanation.score, abs=1e-9)
        for name, named in explanation.named_scores.items():
            assert sum(item.points for item in named.contributions) == pytest.approx(named.score, abs=1e-9), name


def test_a_stored_explanation_is_the_explanation_as_of_the_run_that_stored_the_scores(world: World) -> None:
    store = build(world).store
    moment = at("2026-11-10T00:00:00")
    run_scoring(store, PLAYBOOK, moment)
    for lead_id, row in stored(store).items():
        kept = explain_stored(store, PLAYBOOK, row["lead_key"])
        assert kept is not None and alike(
            kept.model_dump(), explain_lead(store, PLAYBOOK, lead_id, moment).model_dump()
        )
    # a month later the stored scores (what the queue shows) are still those of the run: cat's
    # e-mail click, 6 days 14 hours old at the run, 3 points halving every 30 days
    cat = explain_stored(store, PLAYBOOK, stored(store)["cat"]["lead_key"])
    assert cat is not None and cat.as_of == moment
    assert cat.engagement == pytest.approx(3 * 0.5 ** ((6 + 14 / 24) / 30), rel=1e-12)
    later = explain_lead(store, PLAYBOOK, "cat", at("2026-12-10T00:00:00"))
    assert later.engagement == pytest.approx(3 * 0.5 ** ((36 + 14 / 24) / 30), rel=1e-12)


def test_no_stored_explanation_stands_before_a_run_or_for_another_playbook(world: World) -> None:
    store = build(world).store
    ann = store.lead_key_of("ann")
    assert ann is not None and explain_stored(store, PLAYBOOK, ann) is None  # nothing scored yet
    run_scoring(store, PLAYBOOK, at("2026-11-10T00:00:00"))
    assert explain_stored(store, PLAYBOOK, ann) is not None
    changed = parse_playbook(example_playbook_text().replace("points: 40", "points: 45"), "playbook.yaml")
    assert explain_stored(store, changed, ann) is None  # the rows were scored by the other rules
    run_scoring(store, changed, at("2026-11-10T00:00:00"), incremental=True)  # runs in full
    assert explain_stored(store, changed, ann) is not None
    # recycled after the run, engagement counting again from then: the stored row no longer stands
    restart = TransitionFact(
        ann, Stage.MQL, Stage.RECYCLED, Cause.DECISION, "bad_timing", "rep", at("2026-11-11T00:00:00"), 1,
        reset_engagement=True,
    )  # fmt: skip
    LifecycleStore(store).record([TransitionFact(ann, Stage.INQUIRY, Stage.MQL, Cause.RULE, "mql", "leadgate",
                                                 at("2026-11-10T00:00:00"), 1), restart])  # fmt: skip
    assert explain_stored(store, changed, ann) is None


def alike(left: object, right: object) -> bool:
    """Equal, floats to 1e-9 (two queries may add the same numbers in another order)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(alike(left[name], right[name]) for name in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(alike(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    return left == right


def test_an_explanation_says_why_in_words(world: World) -> None:
    store = build(world).store
    explanation = explain_lead(store, PLAYBOOK, "cat", at("2026-11-10T00:00:00"))
    words = {item.rule: item.why for item in explanation.contributions}
    # cat: Student (-25), free e-mail (-10), account in BR (outside core countries, -15);
    # one e-mail click 6 days 14 hours before, 3 points halving every 30 days.
    assert explanation.fit == -50
    assert words["fit_4"] == "lead.role in [Student, Intern] holds"
    assert words["engagement_6"] == "1 email clicked event, 3 points each, halving every 30 days"
    assert explanation.engagement == pytest.approx(3 * 0.5 ** ((6 + 14 / 24) / 30), rel=1e-12)


def test_an_incremental_run_without_new_facts_rescores_nobody(world: World) -> None:
    store = build(world).store
    run_scoring(store, PLAYBOOK, at("2026-11-10T00:00:00"))
    before = stored(store)
    run = run_scoring(store, PLAYBOOK, at("2026-11-11T00:00:00"), incremental=True)
    assert (run.kind, run.leads_scored) == ("incremental", 0)
    assert all(same(row, before[lead_id]) for lead_id, row in stored(store).items())


def test_an_incremental_run_on_duckdb_keeps_its_working_tables_out_of_the_file(tmp_path: Path) -> None:
    """Its moment, the leads touched and those it rescores are temporary tables: the server's
    checkpoints hold up writes to the file, not these (see leadgate.service.checkpoints)."""
    store = DuckDBStore(tmp_path / "leadgate.duckdb")
    world = build(World(store))
    run_scoring(store, PLAYBOOK, at("2026-11-10T00:00:00"))
    world.did("ben", "demo_requested", "2026-11-11T09:00:00").save()
    assert run_scoring(store, PLAYBOOK, at("2026-11-12T00:00:00"), incremental=True).leads_scored == 2
    working = ("scoring_parameters", "also_keys", "touched_keys", "rescore_keys")
    tables = dict(store._run("SELECT table_name, temporary FROM duckdb_tables()"))
    assert {name: tables.get(name) for name in working} == dict.fromkeys(working, True)
    assert tables[SCORES_TABLE] is False
    store.close()
    reopened = DuckDBStore(tmp_path / "leadgate.duckdb")  # a new connection sees none of them
    assert [name for name in working if reopened.has_table(name)] == []
    assert reopened.count(SCORES_TABLE) == 4
    reopened.close()
