"""The hand-off on a real store: the cycle, decisions, recycling, SLAs, conflicts, history."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from leadgate.domain.stages import Stage
from leadgate.errors import InputError, UserError
from leadgate.ingest.outcomes import OutcomeRow, read_outcomes
from leadgate.ingest.tables import ColumnMap
from leadgate.lifecycle.decisions import Conflict, Decision, DecisionRefused
from leadgate.lifecycle.facts import TransitionFact, fold
from leadgate.lifecycle.machine import TransitionRefused
from leadgate.playbook.loader import parse_playbook
from leadgate.routing.assign import Absence
from leadgate.service.cycle import run_cycle
from leadgate.service.decisions import OutcomesApplied, apply_decision, apply_outcomes
from leadgate.service.explain import explain_lead
from leadgate.service.history import lead_history
from leadgate.service.queue import rep_queue
from leadgate.service.scoring import SCORES_TABLE, run_scoring
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore
from leadgate.workspace import example_playbook_text
from tests.worlds import World, at

PLAYBOOK = parse_playbook(example_playbook_text(), "playbook.yaml")
MONDAY = "2026-11-23T09:00:00"  # Paris 10:00


def hand_raisers(world: World) -> World:
    """Two leads who asked for a demo (fast track: demo in the last 7 days and fit >= 20)."""
    world.account("acme", employees=1500, industry="Software", country="FR")
    world.account("beta", employees=300, industry="Retail", country="DE")
    world.lead("ann", account="acme", role="CTO", budget_estimate=20000)  # fit 20+15+10+15 = 60
    world.lead("ben", account="beta", role="Head")  # fit 20+15 = 35
    world.did("ann", "demo_requested", "2026-11-22T10:00:00")
    world.did("ben", "demo_requested", "2026-11-22T11:00:00")
    return world.save()


def lifecycle(world: World) -> LifecycleStore:
    return LifecycleStore(world.store)


def state_of(world: World, lead_id: str) -> object:
    key = world.store._one("SELECT lead_key FROM person_keys WHERE id_value = ?", [lead_id])
    assert key is not None
    return lifecycle(world).state(int(key[0]))


def count(world: World, table: str) -> int:
    return world.store.count(table)


def test_the_cycle_qualifies_routes_and_is_idempotent(world: World) -> None:
    hand_raisers(world)
    report = run_cycle(world.store, PLAYBOOK, at(MONDAY))
    assert (report.qualified, report.assigned, report.to_manager_queue) == (2, 2, 0)
    ann, ben = state_of(world, "ann"), state_of(world, "ben")
    # ann: >= 1000 employees -> team enterprise, round robin from its first member.
    assert (ann.stage, ann.owner, ann.team) == (Stage.SAL_PENDING, "carla", "enterprise")  # type: ignore[attr-defined]
    # ben: not enterprise, not FR/BE/CH -> team smb, least loaded, first listed.
    assert (ben.stage, ben.owner) == (Stage.SAL_PENDING, "farah")  # type: ignore[attr-defined]
    # 4 business hours from Monday 10:00 Paris: Monday 14:00 Paris = 13:00 UTC.
    assert ann.due_at == at("2026-11-23T13:00:00")  # type: ignore[attr-defined]
    before = {table: count(world, table) for table in ("transitions", "assignments", "sla_breaches")}
    again = run_cycle(world.store, PLAYBOOK, at(MONDAY))
    assert (again.qualified, again.assigned, again.breaches) == (0, 0, 0)
    assert {table: count(world, table) for table in before} == before


def test_every_transition_records_its_cause_and_the_score(world: World) -> None:
    hand_raisers(world)
    run_cycle(world.store, PLAYBOOK, at(MONDAY))
    facts = [
        fact for fact in lifecycle(world).facts_of(state_of(world, "ann").lead_key) if isinstance(fact, TransitionFact)
    ]  # type: ignore[attr-defined]
    assert [(fact.source, fact.target, fact.cause.value) for fact in facts] == [
        (Stage.INQUIRY, Stage.MQL, "rule"),
        (Stage.MQL, Stage.SAL_PENDING, "routing"),
    ]
    first = facts[0]
    assert first.detail == "mql and fast_track conditions hold (qualifies)"  # fit 60, engagement 40
    assert first.playbook_version == 1 and first.fit == 60 and first.score == pytest.approx(100)  # 60 + demo 40
    assert '"rule":"engagement_7","points":40.0' in (first.contributions or "")


def test_accept_qualify_and_win(world: World) -> None:
    hand_raisers(world)
    run_cycle(world.store, PLAYBOOK, at(MONDAY))
    with pytest.raises(DecisionRefused, match="assigned to carla; only they or their manager"):
        apply_decision(world.store, PLAYBOOK, Decision("accept", "ann", "farah", at("2026-11-23T10:00:00")))
    with pytest.raises(DecisionRefused, match="'zoe' is not a rep"):
        apply_decision(world.store, PLAYBOOK, Decision("accept", "ann", "zoe", at("2026-11-23T10:00:00")))
    accepted = apply_decision(world.store, PLAYBOOK, Decision("accept", "ann", "carla", at("2026-11-23T10:00:00")))
    assert accepted.stage == Stage.SAL and accepted.owner == "carla"
    with pytest.raises(DecisionRefused, match="missing: need, timeline"):
        apply_decision(
            world.store,
            PLAYBOOK,
            Decision("qualify", "ann", "carla", at("2026-11-24T10:00:00"), checklist=("budget", "authority")),
        )
    full = ("budget", "authority", "need", "timeline")
    with pytest.raises(
        DecisionRefused, match=r"'foo' not on the playbook's checklist \(budget, authority, need, timeline\)"
    ):
        apply_decision(
            world.store,
            PLAYBOOK,
            Decision("qualify", "ann", "carla", at("2026-11-24T10:00:00"), checklist=(*full, "foo")),
        )
    assert (
        apply_decision(
            world.store, PLAYBOOK, Decision("qualify", "ann", "carla", at("2026-11-24T10:00:00"), checklist=full)
        ).stage
        == Stage.SQL
    )
    with pytest.raises(DecisionRefused, match="cannot record an acceptance for lead ann: it is sql"):
        apply_decision(world.store, PLAYBOOK, Decision("accept", "ann", "carla", at("2026-11-24T11:00:00")))
    assert (
        apply_decision(world.store, PLAYBOOK, Decision("won", "ann", "carla", at("2026-12-01T10:00:00"))).stage
        == Stage.WON
    )


def test_a_refused_decision_writes_nothing(world: World) -> None:
    hand_raisers(world)
    run_cycle(world.store, PLAYBOOK, at(MONDAY))
    before = {table: count(world, table) for table in ("transitions", "decisions", "lead_state")}
    for decision in (
        Decision("reject", "ann", "carla", at(MONDAY), reason="too_small"),
        Decision("qualify", "ann", "carla", at(MONDAY), checklist=("budget",)),
        Decision("disqualify", "ann", "carla", at(MONDAY), reason="bored"),
        Decision("won", "ann", "carla", at(MONDAY)),
        Decision("accept", "ann", "dev", at(MONDAY)),  # not the owner, nor the manager
        Decision("accept", "ann", "nobody", at(MONDAY)),  # not a rep
        Decision("reject", "ann", "carla", at(MONDAY), reason="no_budget", duplicate_of="ben"),
        Decision("accept", "ann", "carla", at("2026-11-23T08:59:59")),  # before it was assigned
    ):
        with pytest.raises((DecisionRefused, TransitionRefused)):
            apply_decision(world.store, PLAYBOOK, decision)
    assert {table: count(world, table) for table in before} == before
    away = Absence("carla", dt.date(2026, 11, 24), dt.date(2026, 11, 24))
    LifecycleStore(world.store).record_absence(away, at(MONDAY))
    with pytest.raises(DecisionRefused, match="carla is marked absent"):  # 23:30 UTC Monday is Tuesday in Paris
        apply_decision(world.store, PLAYBOOK, Decision("accept", "ann", "carla", at("2026-11-23T23:30:00")))
    assert {table: count(world, table) for table in before} == before


def test_a_rejection_recycles_resets_engagement_and_the_lead_requalifies_after_its_cool_off(world: World) -> None:
    hand_raisers(world)
    run_cycle(world.store, PLAYBOOK, at(MONDAY))
    recycled = apply_decision(
        world.store,
        PLAYBOOK,
        Decision("reject", "ben", "farah", at("2026-11-23T10:00:00"), reason="bad_timing", note="call in January"),
    )
    assert recycled.stage == Stage.RECYCLED and recycled.cool_off_until == at("2026-12-23T10:00:00")  # 30 days
    assert recycled.owner is None and recycled.engagement_since == at("2026-11-23T10:00:00")
    run_cycle(world.store, PLAYBOOK, at("2026-11-24T09:00:00"))
    scores = world.store.backend.table(SCORES_TABLE)
    ben = scores.filter(scores.lead_id == "ben").to_pyarrow().to_pylist()[0]
    assert ben["engagement"] == 0  # the demo request was before the restart
    world.did("ben", "demo_requested", "2026-12-10T10:00:00").save()
    run_cycle(world.store, PLAYBOOK, at("2026-12-11T09:00:00"))
    assert state_of(world, "ben").stage == Stage.RECYCLED  # type: ignore[attr-defined]  # still cooling off
    world.did("ben", "demo_requested", "2026-12-28T10:00:00").save()
    run_cycle(world.store, PLAYBOOK, at("2026-12-28T11:00:00"))
    again = state_of(world, "ben")
    assert (again.stage, again.episode) == (Stage.SAL_PENDING, 2)  # type: ignore[attr-defined]
    story = lead_history(world.store, "ben")
    moves = [entry.what for entry in story.entries if entry.kind == "transition"]
    assert moves[2] == "sal_pending → rejected: rejected by farah: Bad timing"
    decisions = [entry.what for entry in story.entries if entry.kind == "decision"]
    assert decisions == ["reject, reason bad_timing, “call in January”"]  # the note stays with the decision
    assert moves[4] == "recycled → mql: mql and fast_track conditions hold (qualifies again)"


def test_plain_scoring_and_explain_also_restart_a_recycled_lead_s_engagement(world: World) -> None:
    hand_raisers(world)
    run_cycle(world.store, PLAYBOOK, at(MONDAY))
    reject = Decision("reject", "ben", "farah", at("2026-11-23T10:00:00"), reason="bad_timing")
    apply_decision(world.store, PLAYBOOK, reject)
    run_scoring(world.store, PLAYBOOK, at("2026-11-24T09:00:00"))  # 'leadgate score', not a cycle
    scores = world.store.backend.table(SCORES_TABLE)
    ben = scores.filter(scores.lead_id == "ben").to_pyarrow().to_pylist()[0]
    assert ben["engagement"] == 0  # the demo request of the 22nd was before the restart
    assert explain_lead(world.store, PLAYBOOK, "ben", at("2026-11-24T09:00:00")).engagement == 0
    ann = scores.filter(scores.lead_id == "ann").to_pyarrow().to_pylist()[0]
    assert ann["engagement"] == 40  # not recycled: the demo request still counts


def test_the_queue_puts_leads_awaiting_a_decision_first_with_their_sla_time_left(world: World) -> None:
    hand_raisers(world)
    run_cycle(world.store, PLAYBOOK, at(MONDAY))
    apply_decision(world.store, PLAYBOOK, Decision("accept", "ann", "carla", at(MONDAY)))
    items = rep_queue(world.store, PLAYBOOK, None, at("2026-11-23T10:00:00"))  # 11:00 Paris
    # ben (score 75) awaits farah's decision, due 14:00 Paris: 3 business hours left; ann (100) is accepted.
    assert [(item.lead_id, item.stage, item.owner, item.score) for item in items] == [
        ("ben", "sal_pending", "farah", 75.0),
        ("ann", "sal", "carla", 100.0),
    ]
    assert items[0].sla_minutes_left == 180 and items[1].sla_minutes_left is None
    assert [item.lead_id for item in rep_queue(world.store, PLAYBOOK, "carla", at(MONDAY))] == ["ann"]
    with pytest.raises(UserError, match="'zoe' is not a rep"):
        rep_queue(world.store, PLAYBOOK, "zoe", at(MONDAY))


def test_an_sla_breach_reassigns_once(world: World) -> None:
    hand_raisers(world)
    run_cycle(world.store, PLAYBOOK, at(MONDAY))
    report = run_cycle(world.store, PLAYBOOK, at("2026-11-23T13:00:01"))  # one second past ann's and ben's deadline
    assert report.breaches == 2
    ann, ben = state_of(world, "ann"), state_of(world, "ben")
    assert ann.owner == "dev" and ben.owner == "gus"  # type: ignore[attr-defined]
    assert ann.breaches == 1  # type: ignore[attr-defined]
    waiting = {item.lead_id: item for item in rep_queue(world.store, PLAYBOOK, None, at("2026-11-23T13:00:01"))}
    assert (waiting["ann"].owner, waiting["ann"].breaches) == ("dev", 1)
    # 4 business hours from Monday 14:00:01 Paris: 3 h 59 min 59 s on Monday, 1 s on Tuesday at 09:00 Paris.
    assert ann.due_at == at("2026-11-24T08:00:01")  # type: ignore[attr-defined]
    assert run_cycle(world.store, PLAYBOOK, at("2026-11-23T13:00:02")).breaches == 0
    story = lead_history(world.store, "ann")
    assert any(
        entry.kind == "sla_breach" and "carla had until 2026-11-23 13:00" in entry.what for entry in story.entries
    )


def test_a_decision_on_a_stale_view_is_refused(world: World) -> None:
    hand_raisers(world)
    run_cycle(world.store, PLAYBOOK, at(MONDAY))
    seen = state_of(world, "ann").version  # type: ignore[attr-defined]
    apply_decision(world.store, PLAYBOOK, Decision("accept", "ann", "erin", at(MONDAY)))  # the manager acts first
    with pytest.raises(Conflict, match="changed since you looked at it"):
        apply_decision(world.store, PLAYBOOK, Decision("accept", "ann", "carla", at(MONDAY), expected_version=seen))


def test_two_reps_deciding_at_once_exactly_one_wins(store: Store, reopen: Callable[[], Store]) -> None:
    first = store
    hand_raisers(World(first))
    run_cycle(first, PLAYBOOK, at(MONDAY))
    version = LifecycleStore(first).state(1).version
    second = reopen()  # another connection to the same database, as two server requests would use
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def act(store: Store, actor: str) -> None:
        start.wait()
        try:
            apply_decision(store, PLAYBOOK, Decision("accept", "ann", actor, at(MONDAY), expected_version=version))
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")

    threads = [
        threading.Thread(target=act, args=(store, actor)) for store, actor in ((first, "carla"), (second, "erin"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "won"]
    assert count(World(first), "decisions") == 1
    second.close()


def test_crm_outcomes_import_all_or_nothing(world: World) -> None:
    hand_raisers(world)
    run_cycle(world.store, PLAYBOOK, at(MONDAY))
    apply_decision(world.store, PLAYBOOK, Decision("accept", "ann", "carla", at(MONDAY)))
    apply_decision(
        world.store,
        PLAYBOOK,
        Decision("qualify", "ann", "carla", at(MONDAY), checklist=("budget", "authority", "need", "timeline")),
    )
    rows = [
        OutcomeRow(2, "ann", "opportunity", at("2026-11-25T00:00:00")),
        OutcomeRow(3, "ben", "won", at("2026-11-26T00:00:00")),
    ]
    with pytest.raises(InputError) as caught:
        apply_outcomes(world.store, PLAYBOOK, rows, "deals.csv")
    assert [(issue.line, issue.code) for issue in caught.value.issues] == [(3, "IM008")]
    assert "cannot record a won deal for lead ben: it is sal_pending" in caught.value.issues[0].message
    assert state_of(world, "ann").stage == Stage.SQL  # type: ignore[attr-defined]  # nothing applied
    good = [rows[0], OutcomeRow(4, "ann", "won", at("2026-12-01T00:00:00"))]
    assert apply_outcomes(world.store, PLAYBOOK, good, "deals.csv") == OutcomesApplied(2, 0)
    assert state_of(world, "ann").stage == Stage.WON  # type: ignore[attr-defined]
    facts_before = count(world, "transitions")
    assert apply_outcomes(world.store, PLAYBOOK, good, "deals.csv") == OutcomesApplied(0, 2)  # the same export again
    assert count(world, "transitions") == facts_before
    won = [entry for entry in lead_history(world.store, "ann").entries if entry.what.startswith("opportunity → won")]
    assert won[0].score is not None  # an imported outcome records the score at that moment too


def test_the_stored_states_are_the_fold_of_the_facts(world: World) -> None:
    hand_raisers(world)
    run_cycle(world.store, PLAYBOOK, at(MONDAY))
    apply_decision(world.store, PLAYBOOK, Decision("reject", "ben", "farah", at(MONDAY), reason="not_icp"))
    store = lifecycle(world)
    shown = store.states()
    assert {key: fold(key, facts) for key, facts in store.facts_by_lead().items()} == shown
    assert store.rebuild_states() == 2 and store.states() == shown


def test_erasing_a_person_removes_sales_notes_and_mentions_of_their_id(world: World) -> None:
    hand_raisers(world)
    run_cycle(world.store, PLAYBOOK, at(MONDAY))
    note = "Ann Martin, mobile +33 6 12 34 56 78"
    apply_decision(world.store, PLAYBOOK, Decision("accept", "ann", "carla", at(MONDAY), note=None))
    apply_decision(world.store, PLAYBOOK, Decision("disqualify", "ann", "carla", at(MONDAY), reason="spam", note=note))
    apply_decision(
        world.store, PLAYBOOK, Decision("reject", "ben", "farah", at(MONDAY), reason="duplicate", duplicate_of="ann")
    )
    ben_moves = [entry.what for entry in lead_history(world.store, "ben").entries if entry.kind == "transition"]
    assert ben_moves[-1] == "rejected → disqualified: duplicate: duplicate of ann"
    transitions_before = count(world, "transitions")
    world.store.erase_person("ann", at(MONDAY))
    assert count(world, "transitions") == transitions_before  # the funnel keeps its moves
    assert world.store._run("SELECT count(*) FROM decisions WHERE note IS NOT NULL OR duplicate_of IS NOT NULL") == [
        (0,)
    ]
    assert world.store._run("SELECT count(*) FROM transitions WHERE strpos(detail, 'ann') > 0") == [(0,)]
    ben_moves = [entry.what for entry in lead_history(world.store, "ben").entries if entry.kind == "transition"]
    assert ben_moves[-1] == "rejected → disqualified: duplicate: duplicate of an erased lead"


def test_a_workspace_of_an_earlier_schema_opens_with_its_derived_tables_rebuilt(
    store: Store, reopen: Callable[[], Store]
) -> None:
    hand_raisers(World(store))
    run_cycle(store, PLAYBOOK, at(MONDAY))
    states = LifecycleStore(store).states()
    # as a schema-1 workspace left them: scores of the old engine, a lead_state of another shape
    store._run("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    store._run("ALTER TABLE lead_scores RENAME COLUMN qualifies_as TO stage")
    store._run("ALTER TABLE lead_state RENAME COLUMN breaches TO breached")
    reopened = reopen()
    assert not reopened.has_table(SCORES_TABLE)  # the next scoring runs in full
    assert LifecycleStore(reopened).states() == states  # recomputed from the facts
    assert run_scoring(reopened, PLAYBOOK, at(MONDAY), incremental=True).kind == "full"
    reopened.close()


def test_an_incremental_cycle_rescores_a_lead_before_moving_it_on_old_flags(world: World) -> None:
    keeps_engagement = parse_playbook(
        example_playbook_text().replace("reset_engagement: true", "reset_engagement: false"), "playbook.yaml"
    )
    world.account("beta", employees=300, industry="Retail", country="DE")
    world.lead("eve", account="beta", role="Engineer")  # fit 20: fast track (demo within 7 days), never MQL
    world.lead("zed", role="CTO")
    world.did("eve", "demo_requested", "2026-11-22T10:00:00").save()
    run_cycle(world.store, keeps_engagement, at(MONDAY))
    assert state_of(world, "eve").stage == Stage.SAL_PENDING  # type: ignore[attr-defined]
    reject = Decision("reject", "eve", "farah", at("2026-11-23T10:00:00"), reason="bad_timing")  # 30 days
    apply_decision(world.store, keeps_engagement, reject)
    world.did("zed", "page_view", "2026-12-27T10:00:00").save()  # a new import touches zed only
    report = run_cycle(world.store, keeps_engagement, at("2026-12-28T09:00:00"))
    # eve's stored flags (as of 23 November) still say fast track, but her demo is 36 days old:
    # the cycle rescored her first, so she stays recycled.
    assert report.scoring.kind == "incremental" and report.qualified == 0
    assert state_of(world, "eve").stage == Stage.RECYCLED  # type: ignore[attr-defined]


def test_a_cycle_cannot_go_back_in_time(world: World) -> None:
    hand_raisers(world)
    run_cycle(world.store, PLAYBOOK, at(MONDAY))
    apply_decision(world.store, PLAYBOOK, Decision("accept", "ann", "carla", at("2026-11-23T10:00:00")))
    before = {table: count(world, table) for table in ("transitions", "assignments", "lead_state")}
    with pytest.raises(UserError, match="before the latest hand-off fact"):
        run_cycle(world.store, PLAYBOOK, at("2026-11-23T09:30:00"))
    assert {table: count(world, table) for table in before} == before


@pytest.mark.parametrize("action", ["reassign", "escalate", "recycle"])
def test_a_second_cycle_at_a_breach_moment_adds_nothing(world: World, action: str) -> None:
    playbook = parse_playbook(
        example_playbook_text().replace("on_sla_breach: reassign", f"on_sla_breach: {action}"), "playbook.yaml"
    )
    hand_raisers(world)
    run_cycle(world.store, playbook, at(MONDAY))
    assert run_cycle(world.store, playbook, at("2026-11-23T13:00:01")).breaches == 2
    tables = ("transitions", "assignments", "sla_breaches", "lead_state")
    before = {table: count(world, table) for table in tables}
    again = run_cycle(world.store, playbook, at("2026-11-23T13:00:01"))
    assert (again.breaches, again.qualified, again.assigned) == (0, 0, 0)
    assert {table: count(world, table) for table in tables} == before
    for state in LifecycleStore(world.store).states().values():
        assert state.owner is not None  # reassigned, escalated, or recycled and at once routed again


def test_a_row_repeated_in_one_crm_export_counts_once(world: World, tmp_path: Path) -> None:
    hand_raisers(world)
    run_cycle(world.store, PLAYBOOK, at(MONDAY))
    apply_decision(world.store, PLAYBOOK, Decision("accept", "ann", "carla", at(MONDAY)))
    checklist = ("budget", "authority", "need", "timeline")
    apply_decision(world.store, PLAYBOOK, Decision("qualify", "ann", "carla", at(MONDAY), checklist=checklist))
    export = tmp_path / "deals.csv"
    export.write_text("lead_id,opportunity_at\nann,2026-11-25\nann,2026-11-25\n", encoding="utf-8")
    rows = read_outcomes(export, ColumnMap.parse([]))
    assert [(row.line, row.outcome) for row in rows] == [(2, "opportunity")]
    assert apply_outcomes(world.store, PLAYBOOK, rows, str(export)) == OutcomesApplied(1, 0)


def test_a_crm_row_both_won_and_lost_is_a_bad_row(tmp_path: Path) -> None:
    """An opportunity that was then won is two moves; won and lost at once is a contradiction."""
    export = tmp_path / "deals.csv"
    export.write_text(
        "lead_id,opportunity_at,won_at,lost_at\nann,2026-11-20,2026-11-25,\nbob,,2026-11-25,2026-11-26\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        read_outcomes(export, ColumnMap.parse([]))
    assert [str(issue) for issue in caught.value.issues] == [
        f"{export}:3: IM005 lost_at: a deal is won or lost, not both: keep one of won_at and lost_at"
    ]


def test_an_account_owner_outside_the_teams_can_decide_on_their_lead(world: World) -> None:
    world.account("acme", employees=1500, industry="Software", country="FR", owner="zoe")  # zoe is in no team
    world.lead("ann", account="acme", role="CTO", budget_estimate=20000)
    world.did("ann", "demo_requested", "2026-11-22T10:00:00").save()
    run_cycle(world.store, PLAYBOOK, at(MONDAY))
    assert state_of(world, "ann").owner == "zoe"  # type: ignore[attr-defined]
    assert [item.lead_id for item in rep_queue(world.store, PLAYBOOK, "zoe", at(MONDAY))] == ["ann"]
    with pytest.raises(DecisionRefused, match="only they or their manager"):
        apply_decision(world.store, PLAYBOOK, Decision("accept", "ann", "dev", at(MONDAY)))
    accepted = apply_decision(world.store, PLAYBOOK, Decision("accept", "ann", "zoe", at(MONDAY)))
    assert accepted.stage == Stage.SAL


def test_a_story_shows_the_latest_events_and_counts_them_all(world: World) -> None:
    world.lead("eve")
    for day in ("01", "02", "03"):
        world.did("eve", "page_view", f"2026-11-{day}T10:00:00", path=f"/day-{day}")
    world.save()
    story = lead_history(world.store, "eve", max_events=2)
    assert (story.events_shown, story.events_total) == (2, 3)
    assert [entry.what for entry in story.entries if entry.kind == "event"] == [
        "page view /day-02",
        "page view /day-03",
    ]
    nothing = lead_history(world.store, "eve", max_events=0)
    assert (nothing.events_shown, nothing.events_total) == (0, 3)
    world.lead("fay").save()
    assert (lead_history(world.store, "fay").events_total, lead_history(world.store, "fay").events_shown) == (0, 0)
