"""The simulated sales side: decisions through the real path, consistent with the ground truth.

One play (500 leads over 60 days, about 43 daily cycles) is shared by the checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadgate.domain.stages import Stage
from leadgate.lifecycle.decisions import Decision, DecisionRefused
from leadgate.lifecycle.facts import AssignmentFact, BreachFact, DecisionFact, TransitionFact
from leadgate.playbook.loader import parse_playbook
from leadgate.service.decisions import apply_decision
from leadgate.service.history import lead_history, richest_story
from leadgate.service.scoring import SCORES_TABLE, run_scoring
from leadgate.simulate import TRUTH_TABLE, SalesSummary, play_sales, simulate_into_store
from leadgate.simulate.desk import DecisionDesk
from leadgate.simulate.sales import SOURCE
from leadgate.store.duckdb_store import DuckDBStore
from leadgate.store.lifecycle_store import LifecycleStore
from leadgate.workspace import example_playbook_text
from tests.lifecycle_checks import check_all_routed, check_facts_and_states
from tests.worlds import Lifecycle, World

END = dt.datetime(2026, 11, 26, 7, 0)
DAYS = 60
PLAYBOOK = parse_playbook(example_playbook_text(), "playbook.yaml")
CHECKLIST = tuple(PLAYBOOK.model.stages.sql.checklist)


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DuckDBStore, SalesSummary]]:
    store = DuckDBStore(tmp_path_factory.mktemp("sales") / "leadgate.duckdb")
    simulate_into_store(store, leads=500, days=DAYS, seed=5, end=END)
    summary = play_sales(store, PLAYBOOK, seed=5, start=END - dt.timedelta(days=DAYS), end=END)
    yield store, summary
    store.close()


def decisions(store: DuckDBStore) -> list[DecisionFact]:
    return [
        fact
        for facts in LifecycleStore(store).facts_by_lead().values()
        for fact in facts
        if isinstance(fact, DecisionFact)
    ]


def truth(store: DuckDBStore) -> dict[int, tuple[dt.datetime | None, str]]:
    """Lead key -> (truth's SQL moment, outcome)."""
    rows = store._run(
        f"""SELECT p.lead_key, t.sql_at, t.outcome FROM {TRUTH_TABLE} AS t
            JOIN person_keys AS p ON p.id_kind = 'user' AND p.id_value = t.lead_id AND p.first_key = p.lead_key"""
    )
    return {key: (sql_at, outcome) for key, sql_at, outcome in rows}


def test_the_play_has_every_kind_of_sales_moment(played: tuple[DuckDBStore, SalesSummary]) -> None:
    store, summary = played
    made = summary.decisions
    assert made["accept"] > 10 and made["reject"] > 3 and made["qualify"] > 3, summary.describe()
    assert summary.sla_breaches > 0 and summary.cycles >= 40
    assert store.count("sla_breaches") == summary.sla_breaches
    assert sum(summary.decisions.values()) == len(decisions(store))
    stages = {state.stage for state in LifecycleStore(store).states().values()}
    assert {Stage.SAL, Stage.SQL, Stage.RECYCLED} <= stages, stages
    reasons = set(PLAYBOOK.model.stages.sal.reject_reasons)
    assert {fact.reason for fact in decisions(store) if fact.kind == "reject"} <= reasons
    assert {fact.source for fact in decisions(store)} == {"simulation"}


def test_every_recorded_move_is_allowed_and_states_are_the_fold_of_the_facts(
    played: tuple[DuckDBStore, SalesSummary],
) -> None:
    store, _ = played
    check_all_routed(check_facts_and_states(store))


def test_decisions_follow_the_ground_truth(played: tuple[DuckDBStore, SalesSummary]) -> None:
    store, _ = played
    known = truth(store)
    for fact in decisions(store):
        sql_at, outcome = known[fact.lead_key]
        if fact.kind == "qualify":
            assert sql_at is not None and fact.at >= sql_at  # sales qualifies what the truth makes an SQL, not before
        if fact.kind in ("won", "lost"):
            assert outcome == fact.kind
        assert fact.at <= END


def test_each_decision_was_made_by_the_lead_owner_of_the_moment(played: tuple[DuckDBStore, SalesSummary]) -> None:
    store, _ = played
    for lead_facts in LifecycleStore(store).facts_by_lead().values():
        owner = None
        for fact in lead_facts:
            if isinstance(fact, AssignmentFact):
                owner = fact.owner
            elif isinstance(fact, DecisionFact):
                assert fact.actor == owner
            elif isinstance(fact, TransitionFact) and fact.target in (Stage.RECYCLED, Stage.DISQUALIFIED):
                owner = None


def test_late_answers_breach_the_sla_and_the_lead_moves_on(played: tuple[DuckDBStore, SalesSummary]) -> None:
    store, _ = played
    for lead_facts in LifecycleStore(store).facts_by_lead().values():
        for index, fact in enumerate(lead_facts):
            if isinstance(fact, BreachFact):
                assert fact.at > fact.due_at
                after = lead_facts[index + 1]  # the playbook reassigns on breach
                assert isinstance(after, AssignmentFact) and after.cause == "sla_reassign" and after.owner != fact.owner


def test_the_history_of_a_simulated_lead_tells_its_whole_story(played: tuple[DuckDBStore, SalesSummary]) -> None:
    store, _ = played
    qualified = next(fact for fact in decisions(store) if fact.kind == "qualify")
    lead_id = store._run(f"SELECT lead_id FROM {SCORES_TABLE} WHERE lead_key = ?", [qualified.lead_key])[0][0]
    story = lead_history(store, lead_id)
    kinds = {entry.kind for entry in story.entries}
    assert {"event", "transition", "assignment", "decision"} <= kinds
    moves = [entry.what.split(":")[0] for entry in story.entries if entry.kind == "transition"]
    sql = moves.index("sal → sql")
    assert moves[sql - 3 : sql] in (
        ["inquiry → mql", "mql → sal_pending", "sal_pending → sal"],
        ["inquiry → pql", "pql → sal_pending", "sal_pending → sal"],
        ["recycled → mql", "mql → sal_pending", "sal_pending → sal"],
        ["recycled → pql", "pql → sal_pending", "sal_pending → sal"],
    ), moves
    decided = [entry for entry in story.entries if entry.kind == "decision"]
    assert [entry.what for entry in decided if entry.what.startswith("qualify")] == [
        "qualify, checklist budget,authority,need,timeline"
    ]
    assert all(entry.who == qualified.actor for entry in decided if entry.what.startswith(("accept", "qualify")))
    first_move = next(entry for entry in story.entries if entry.kind == "transition")
    assert first_move.score is not None and first_move.details["contributions"]  # the score at that moment


def test_the_richest_story_is_a_won_lead_else_the_one_with_the_most_moves(
    played: tuple[DuckDBStore, SalesSummary],
) -> None:
    store, _ = played
    ids = dict(store._run(f"SELECT lead_key, lead_id FROM {SCORES_TABLE}"))
    ranked = []
    for key, lead_facts in LifecycleStore(store).facts_by_lead().items():
        moves = [fact for fact in lead_facts if isinstance(fact, TransitionFact)]
        if moves:
            won = any(fact.target == Stage.WON for fact in moves)
            ranked.append((-won, -len(moves), ids[key]))
    assert richest_story(store) == min(ranked)[2]


def test_the_same_seed_plays_the_same_sales_side(tmp_path_factory: pytest.TempPathFactory) -> None:
    def play() -> list[tuple[object, ...]]:
        store = DuckDBStore(tmp_path_factory.mktemp("again") / "leadgate.duckdb")
        simulate_into_store(store, leads=150, days=15, seed=9, end=END)
        play_sales(store, PLAYBOOK, seed=9, start=END - dt.timedelta(days=15), end=END)
        rows = store._run('SELECT lead_key, kind, actor, "at", reason, note FROM decisions ORDER BY ALL')
        store.close()
        return rows

    first = play()
    assert first and first == play()


def desk_story(store: DuckDBStore) -> None:
    """Ann and Bob, scored, await carla's acceptance since 11-02."""
    world = World(store)
    for lead in ("ann", "bob"):
        world.lead(lead, role="CTO", learnt_at="2026-10-01T00:00:00")
        world.did(lead, "page_view", "2026-11-01T10:00:00", path="/pricing")
    world.save()
    run_scoring(store, PLAYBOOK, dt.datetime(2026, 11, 2, 8, 0))
    story = Lifecycle(store)
    for lead in ("ann", "bob"):
        story.move(lead, "inquiry", "mql", "2026-11-02T08:00:00").move(
            lead, "mql", "sal_pending", "2026-11-02T08:00:00"
        )
        story.assign(lead, "carla", "2026-11-02T08:00:00", due="2026-11-02T12:00:00", team="enterprise")
    story.save()


DESK_DECISIONS = (
    Decision("accept", "ann", "carla", dt.datetime(2026, 11, 2, 9, 0), source=SOURCE),
    Decision("reject", "bob", "carla", dt.datetime(2026, 11, 2, 9, 30), reason="no_budget", source=SOURCE),
    Decision("qualify", "ann", "carla", dt.datetime(2026, 11, 2, 10, 0), checklist=CHECKLIST, source=SOURCE),
)


def test_the_desk_records_what_deciding_one_at_a_time_records(tmp_path: Path) -> None:
    """The play's desk checks decisions on the states its earlier ones left and records them
    together: the same facts, sequence numbers and states as apply_decision one by one."""
    tables = ("transitions", "decisions", "lead_state")
    found = []
    for batched in (True, False):
        store = DuckDBStore(tmp_path / f"{batched}.duckdb")
        desk_story(store)
        desk = DecisionDesk(store, PLAYBOOK)
        for decision in DESK_DECISIONS:
            if batched:
                desk.make(decision)
            else:
                apply_decision(store, PLAYBOOK, decision)
        if batched:
            assert desk.state("ann").stage == Stage.SQL and desk.state("bob").stage == Stage.RECYCLED
            assert LifecycleStore(store).state(desk.key_of("ann")).stage == Stage.SAL_PENDING  # not recorded yet
            with pytest.raises(DecisionRefused, match="it is recycled"):  # refused as apply_decision refuses it
                desk.make(Decision("accept", "bob", "carla", dt.datetime(2026, 11, 2, 11, 0)))
            desk.record()
        found.append({table: store._run(f"SELECT * FROM {table} ORDER BY ALL") for table in tables})
        store.close()
    assert found[0] == found[1]
    moves = sorted(found[0]["transitions"], key=lambda row: row[1])  # by seq
    assert [row[4] for row in moves if row[7] == "carla"] == ["sal", "rejected", "recycled", "sql"]
    assert all(row[10] is not None for row in moves if row[7] == "carla")  # each records the lead's score


def test_playing_again_adds_nothing(played: tuple[DuckDBStore, SalesSummary]) -> None:
    store, _ = played
    tables = ("transitions", "assignments", "decisions", "sla_breaches", "absences")
    before = {table: store.count(table) for table in tables}
    again = play_sales(store, PLAYBOOK, seed=5, start=END - dt.timedelta(days=DAYS), end=END)
    assert sum(again.decisions.values()) == 0 and again.assignments == 0
    assert {table: store.count(table) for table in tables} == before
