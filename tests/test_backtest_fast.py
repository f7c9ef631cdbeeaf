"""The backtest's one-pass engine: the same passes as the per-checkpoint replay and the oracle.

Random playbooks and histories (the oracle's strategies) are replayed three ways: the oracle
scoring every lead at every checkpoint, the per-checkpoint replay, and the one-pass engine.
Cells the oracle calls undecided (a decayed score within a hair of a threshold, where the
order of additions decides) are left out. Playbooks the one-pass engine cannot express go to
the per-checkpoint replay with a note; that hand-over is checked too.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import ibis
import pytest
from hypothesis import event, given, settings

from leadgate.analytics.backtest_fast_bounds import SharedBounds, may_pass, possibly, surely
from leadgate.analytics.backtest_fast_events import EventAmounts
from leadgate.analytics.backtest_fast_plan import metrics_of, obstacles
from leadgate.analytics.backtest_figures import run_backtest
from leadgate.analytics.backtest_replay import replay
from leadgate.playbook.compiled import Playbook
from leadgate.playbook.conditions.parser import parse_condition
from leadgate.playbook.loader import parse_playbook
from leadgate.store.base import Store
from leadgate.store.duckdb_store import DuckDBStore
from tests.test_backtest import WINDOW, hand_world, oracle_passes, playbook_text
from tests.test_oracle_agreement import EXAMPLES, Case, Sections, cases, save_history
from tests.worlds import World, at

BENCH_PLAYBOOK = Path(__file__).parent.parent / "bench" / "playbook.yaml"
Passes = dict[str, tuple[dt.datetime, str]]


def passes_by_lead(rows: list[dict[str, object]], undecided: set[str]) -> Passes:
    return {
        str(row["lead_id"]): (row["passed_at"], str(row["stage"]))  # type: ignore[misc]
        for row in rows
        if row["lead_id"] not in undecided
    }


def checkpoints_around(as_of: dt.datetime) -> list[dt.datetime]:
    """Eight days before as-of, then every day, then as-of and a last, irregular checkpoint 7 hours
    later: windows of a day or a week end between checkpoints, and days straddle them."""
    start = as_of - dt.timedelta(days=8)
    return [start + dt.timedelta(days=day) for day in range(9)] + [as_of + dt.timedelta(hours=7)]


def replay_both(store: Store, playbook: Playbook, checkpoints: list[dt.datetime]) -> tuple[list, list, list[str]]:
    (one_pass,), _ = replay(store, [playbook], checkpoints, engine="one_pass")
    (per_checkpoint,), _ = replay(store, [playbook], checkpoints, engine="per_checkpoint")
    (_,), notes = replay(store, [playbook], checkpoints)
    return one_pass.to_pylist(), per_checkpoint.to_pylist(), notes


@settings(EXAMPLES, max_examples=20)
@given(
    cases(
        Sections(fit=2, engagement=3, named=1, product=True, accounts=True, rich_stages=True),
        most_leads=4,
        most_events=24,
    )
)
def test_one_pass_agrees_with_the_oracle_and_the_per_checkpoint_replay(case: Case) -> None:
    """Which leads pass, when, into which stage, and with which routing flags and account owner."""
    playbook = parse_playbook(case.playbook_text, "oracle.yaml")
    checkpoints = checkpoints_around(case.as_of)
    expected, undecided = oracle_passes(case, checkpoints)
    with tempfile.TemporaryDirectory() as folder:
        store = DuckDBStore(Path(folder) / "leadgate.duckdb")
        try:
            save_history(World(store), case.history, case.new_batch_at)
            blocked = obstacles(playbook, checkpoints)
            one_pass, per_checkpoint, notes = replay_both(store, playbook, checkpoints) if not blocked else ([], [], [])
            if blocked:
                (_,), notes = replay(store, [playbook], checkpoints)
        finally:
            store.close()
    event("replayed per checkpoint" if blocked else "replayed in one pass")
    if blocked:
        assert len(notes) == 1 and all(reason in notes[0] for reason in blocked)
        return
    assert notes == []
    assert passes_by_lead(one_pass, undecided) == expected

    def decided(rows: list[dict[str, object]]) -> list[dict[str, object]]:
        return sorted((row for row in rows if row["lead_id"] not in undecided), key=lambda row: str(row["lead_id"]))

    assert decided(one_pass) == decided(per_checkpoint)


def test_the_hand_built_world_gives_the_same_report_both_ways(store: Store) -> None:
    """On DuckDB and PostgreSQL: the whole report (figures worked out by hand in test_backtest.py)."""
    hand_world(store)
    current, candidate = parse_playbook(playbook_text(20), "a.yaml"), parse_playbook(playbook_text(30), "b.yaml")
    checkpoints = WINDOW.checkpoints()
    (fast_current, fast_candidate), notes = replay(store, [current, candidate], checkpoints, engine="one_pass")
    (slow_current, slow_candidate), _ = replay(store, [current, candidate], checkpoints, engine="per_checkpoint")
    assert notes == []
    assert (
        fast_current.to_pylist()
        == slow_current.sort_by([("passed_at", "ascending"), ("lead_key", "ascending")]).to_pylist()
    )
    assert (
        fast_candidate.to_pylist()
        == slow_candidate.sort_by([("passed_at", "ascending"), ("lead_key", "ascending")]).to_pylist()
    )
    assert [(row["lead_id"], row["passed_at"]) for row in fast_candidate.to_pylist()] == [
        ("bob", at("2026-03-09T00:00:00")),
        ("ann", at("2026-03-16T00:00:00")),
        ("eve", at("2026-03-23T00:00:00")),
    ]
    report = run_backtest(store, current, candidate, WINDOW)
    assert report.notes == []
    assert (report.current.passed, report.candidate.passed, report.converted, report.captured) == (4, 3, 3, 1)


DECAYING_WORLD = """name: decaying
version: 1
timezone: Europe/Paris
scoring:
  fit:
    - {when: "account.employees >= 100", points: 10}
  engagement:
    half_life_days: 2
    rules:
      - {event: page_view, points: 10}
      - {event: page_view, points: 5, max_per_day: 1}
      - {event: demo_requested, points: 20, once: true}
      - {event: page_view, at_least: 2, within_days: 2, points: 8}
stages:
  mql: {when: "fit >= 10 and engagement >= 25"}
  sal: {sla: "4 business hours", reject_reasons: {no_budget: {then: recycle, cool_off_days: 30}}}
routing:
  - {when: "account.owner is not null", to: account_owner}
  - {to: team sales, method: round_robin}
teams:
  sales: {members: [ana], manager: max}
"""


def test_decay_days_and_windows_across_checkpoints(store: Store) -> None:
    """A world worked out by hand, on DuckDB and PostgreSQL, checkpoints daily at midnight UTC.

    ann (account big: 120 employees, owner olga) views a page on 2 March at 23:30 UTC and on 3 March
    at 01:00 UTC: one Paris day (3 March, from 23:00 UTC), which straddles the checkpoint of 3 March.
    - 3 March: 10 x 2^(-0.5/48) (view) + 5 x 2^(-0.5/48) (the day so far) = 14.89, one view in two
      days (no 8): no pass;
    - 4 March: 10 x (2^(-24.5/48) + 2^(-23/48)) = 14.19, the day's one point-worth aged from its last
      view (01:00) 5 x 2^(-23/48) = 3.59, two views within two days: + 8; 25.78 >= 25 and fit 10:
      ann passes, routed to her account's owner.
    bob, the same views and no account (fit 0), never passes.
    """
    world = World(store)
    world.account("big", employees="120", owner="olga").lead("ann", account="big").lead("bob")
    for lead in ("ann", "bob"):
        world.did(lead, "page_view", "2026-03-02T23:30:00").did(lead, "page_view", "2026-03-03T01:00:00")
    world.save()
    playbook = parse_playbook(DECAYING_WORLD, "decaying.yaml")
    checkpoints = [dt.datetime(2026, 3, day) for day in range(1, 6)]
    one_pass, per_checkpoint, notes = replay_both(store, playbook, checkpoints)
    assert notes == []
    assert [(row["lead_id"], row["passed_at"], row["account_owner"]) for row in one_pass] == [
        ("ann", dt.datetime(2026, 3, 4), "olga")
    ]
    assert one_pass == per_checkpoint


def test_constructs_beyond_running_sums_go_to_the_per_checkpoint_replay(store: Store) -> None:
    """A product signal counting distinct days is replayed one checkpoint at a time, and the report says so."""
    hand_world(store)
    text = playbook_text(20).replace(
        "stages:",
        "  product:\n    window_days: 7\n    signals:\n      active_days: {count: distinct_days, events: [page_view]}\nstages:",
    )
    candidate = parse_playbook(text, "b.yaml")
    assert obstacles(candidate, WINDOW.checkpoints()) == ["product signal active_days counts distinct_days"]
    report = run_backtest(store, parse_playbook(playbook_text(20), "a.yaml"), candidate, WINDOW)
    assert report.notes == [
        "the candidate (hand v1) was replayed one checkpoint at a time: product signal active_days counts distinct_days"
    ]
    assert report.candidate.passed == report.current.passed == 4


def test_each_playbook_replayed_one_checkpoint_at_a_time_is_named_by_its_side(store: Store) -> None:
    """A candidate is often the current file edited, with the same name and version: each note
    says which side it is about, not the same line twice."""
    hand_world(store)
    text = playbook_text(20).replace(
        "stages:",
        "  product:\n    window_days: 7\n    signals:\n      active_days: {count: distinct_days, events: [page_view]}\nstages:",
    )
    current, candidate = parse_playbook(text, "a.yaml"), parse_playbook(text, "b.yaml")
    assert (current.name, current.version) == (candidate.name, candidate.version)
    report = run_backtest(store, current, candidate, WINDOW)
    reason = "was replayed one checkpoint at a time: product signal active_days counts distinct_days"
    assert report.notes == [f"the current playbook (hand v1) {reason}", f"the candidate (hand v1) {reason}"]


def test_the_benchmark_playbook_is_replayed_in_one_pass() -> None:
    playbook = parse_playbook(BENCH_PLAYBOOK.read_text(encoding="utf-8"), str(BENCH_PLAYBOOK))
    assert obstacles(playbook, [dt.datetime(2025, 12, 1), dt.datetime(2026, 12, 1)]) == []


def test_a_half_life_too_short_for_the_window_is_an_obstacle() -> None:
    playbook = parse_playbook(DECAYING_WORLD.replace("half_life_days: 2", "half_life_days: 0.1"), "short.yaml")
    found = obstacles(playbook, [dt.datetime(2026, 1, 1), dt.datetime(2026, 12, 1)])
    assert found and all("half-life of 0.1 days over a window of 334 days" in reason for reason in found)


# -- the bounds that leave out the leads a playbook cannot pass (backtest_fast_bounds) ---------

PRUNING_RULES = """      - {event: page_view, points: 10}
      - {event: demo_requested, points: 20, decay: false}
      - {event: email_unsubscribed, points: -30, decay: false}
"""
PRUNING_WORLD = (
    """name: pruning
version: 1
scoring:
  fit:
    - {when: "account.employees >= 100", points: 10}
  engagement:
    half_life_days: 2
    rules:
"""
    + PRUNING_RULES
    + """stages:
  mql: {when: "fit >= 10 and not (engagement < 20)"}
  sal: {sla: "4 business hours", reject_reasons: {no_budget: {then: recycle, cool_off_days: 30}}}
routing:
  - {to: team sales, method: round_robin}
teams:
  sales: {members: [ana], manager: max}
"""
)
PRUNING_CHECKPOINTS = [dt.datetime(2026, 3, day) for day in range(1, 7)]


def pruning_world(store: Store) -> None:
    """Daily checkpoints from 1 March, midnight UTC; accounts big (120 employees) and grows (50,
    then 150 from 3 March noon).

    - ann (big): two page views at the first checkpoint itself: engagement exactly 20 there, and
      her bound exactly 20: she passes on 1 March and must be kept;
    - dee (grows): a demo request (20, no decay) on 1 March; fit 10 only from 4 March: kept (her
      account's later state counts), passes on 4 March;
    - eve (big): a demo request and an unsubscription (-30): never passes, but the bound leaves
      negative points out, so she is kept (too many kept is slower, never wrong);
    - bob (no account): a demo request, fit 0 throughout: left out by the fit bound;
    - cid (big): one page view (10): left out by the engagement bound.
    """
    world = World(store)
    world.account("big", employees=120).account("grows", employees=50)
    world.account("grows", learnt_at="2026-03-03T12:00:00", employees=150)
    world.lead("ann", account="big").lead("dee", account="grows").lead("eve", account="big")
    world.lead("bob").lead("cid", account="big")
    world.did("ann", "page_view", "2026-03-01T00:00:00").did("ann", "page_view", "2026-03-01T00:00:00")
    for lead in ("dee", "eve", "bob"):
        world.did(lead, "demo_requested", "2026-03-01T10:00:00")
    world.did("eve", "email_unsubscribed", "2026-03-01T11:00:00")
    world.did("cid", "page_view", "2026-03-02T09:00:00")
    world.save()


def kept_leads(store: Store, playbook: Playbook, checkpoints: list[dt.datetime]) -> set[str] | None:
    """The ids of the leads :func:`may_pass` keeps (None: it rules none out)."""
    facts = store.facts()
    metrics = list(metrics_of(playbook).values())
    return lead_ids(store, may_pass(facts, playbook, checkpoints, EventAmounts(facts, metrics, checkpoints).table()))


def lead_ids(store: Store, keep: ibis.Table | None) -> set[str] | None:
    if keep is None:
        return None
    rows = store.query_rows(store.sql(keep.join(store.facts().leads(), "lead_key").select("lead_id")))
    return {str(row["lead_id"]) for row in rows}


def first_checkpoints(store: Store, keep: ibis.Table | None) -> dict[str, int]:
    """The first checkpoint from which the bounds let a playbook pass each lead, by lead id."""
    assert keep is not None
    rows = store.query_rows(store.sql(keep.join(store.facts().leads(), "lead_key").select("lead_id", "from_k")))
    return {str(row["lead_id"]): int(row["from_k"]) for row in rows}


def test_playbooks_share_the_bounds_they_have_in_common(store: Store) -> None:
    """Three playbooks over :func:`pruning_world`: b differs from a in its MQL condition only
    (fit >= 0 and engagement >= 10), c in its fit rule (200 employees: nobody). Two fit bounds
    and one engagement bound serve the three; b passes ann on 1 March, then bob and dee on
    2 March (their demo requests of 1 March, 10:00, seen then; fit 0 is enough); cid's one view
    (2 March, 09:00) is first seen at 15 hours old, worth 10 x 2^(-15/48) = 8.05 < 10 at most, so
    b leaves him out too; c keeps nobody. No lead has points before its first event, which
    starts the rows both keep: ann's views are seen at the first checkpoint (0), the demo
    requests of 1 March at the second (1: dee's fit of 10 from 4 March counts from there too)."""
    pruning_world(store)
    a = parse_playbook(PRUNING_WORLD, "a.yaml")
    b = parse_playbook(
        PRUNING_WORLD.replace("fit >= 10 and not (engagement < 20)", "fit >= 0 and not (engagement < 10)"), "b.yaml"
    )
    c = parse_playbook(PRUNING_WORLD.replace("account.employees >= 100", "account.employees >= 200"), "c.yaml")
    shared = SharedBounds([a, b, c])
    assert (len(shared.fits), len(shared.scores)) == (2, 1)
    facts = store.facts()
    metrics = [metric for playbook in (a, b, c) for metric in metrics_of(playbook).values()]
    table = shared.table(facts, PRUNING_CHECKPOINTS, EventAmounts(facts, metrics, PRUNING_CHECKPOINTS).table())
    assert table is not None
    assert [first_checkpoints(store, shared.keep(index, table)) for index in range(3)] == [
        {"ann": 0, "dee": 1, "eve": 1},
        {"ann": 0, "bob": 1, "dee": 1, "eve": 1},
        {},
    ]
    fast, _ = replay(store, [a, b, c], PRUNING_CHECKPOINTS, engine="one_pass")
    slow, _ = replay(store, [a, b, c], PRUNING_CHECKPOINTS, engine="per_checkpoint")
    order = [("passed_at", "ascending"), ("lead_key", "ascending")]
    assert [table.to_pylist() for table in fast] == [table.sort_by(order).to_pylist() for table in slow]
    assert [(row["lead_id"], row["passed_at"].day) for row in fast[1].to_pylist()] == [
        ("ann", 1),
        ("bob", 2),
        ("dee", 2),
    ]
    assert fast[2].num_rows == 0


def test_the_bounds_keep_every_lead_that_can_pass_and_leave_out_the_others(store: Store) -> None:
    """On DuckDB and PostgreSQL: the world of :func:`pruning_world`, kept leads and passes."""
    pruning_world(store)
    playbook = parse_playbook(PRUNING_WORLD, "pruning.yaml")
    assert kept_leads(store, playbook, PRUNING_CHECKPOINTS) == {"ann", "dee", "eve"}
    one_pass, per_checkpoint, notes = replay_both(store, playbook, PRUNING_CHECKPOINTS)
    assert notes == []
    assert [(row["lead_id"], row["passed_at"]) for row in one_pass] == [
        ("ann", dt.datetime(2026, 3, 1)),
        ("dee", dt.datetime(2026, 3, 4)),
    ]
    assert one_pass == per_checkpoint


def test_only_the_events_of_leads_the_fit_bound_keeps_are_read(store: Store) -> None:
    """:func:`pruning_world` under its own playbook (``fit >= 10 and ...``): bob has no account,
    so fit 0 at most, and his demo request is not read; the others' events are."""
    pruning_world(store)
    playbook = parse_playbook(PRUNING_WORLD, "pruning.yaml")
    facts = store.facts()
    fits = SharedBounds([playbook]).fit_table(facts, PRUNING_CHECKPOINTS)
    assert lead_ids(store, fits) == {"ann", "cid", "dee", "eve"}
    amounts = EventAmounts(facts, list(metrics_of(playbook).values()), PRUNING_CHECKPOINTS, fits).table()
    assert amounts is not None
    assert lead_ids(store, amounts.select("lead_key").distinct()) == {"ann", "cid", "dee", "eve"}


def test_a_lead_its_fit_alone_may_pass_is_replayed_from_the_first_checkpoint(store: Store) -> None:
    """``fit >= 10 or engagement >= 20`` over :func:`pruning_world`: with no points yet, the fit
    bound alone may pass the leads of the big account and dee (her account's later 150
    employees), so their rows start at checkpoint 0; bob (no account, fit 0) only from his demo
    request's interval (1), where his bound reaches 20. Everyone passes: the fit passes ann,
    eve and cid on 1 March; dee's fit of 10 comes on 4 March, her demo request (20, no decay)
    passes her on 2 March, as it does bob."""
    pruning_world(store)
    playbook = parse_playbook(
        PRUNING_WORLD.replace("fit >= 10 and not (engagement < 20)", "fit >= 10 or engagement >= 20"), "either.yaml"
    )
    facts = store.facts()
    amounts = EventAmounts(facts, list(metrics_of(playbook).values()), PRUNING_CHECKPOINTS).table()
    keep = may_pass(facts, playbook, PRUNING_CHECKPOINTS, amounts)
    assert first_checkpoints(store, keep) == {"ann": 0, "cid": 0, "dee": 0, "eve": 0, "bob": 1}
    one_pass, per_checkpoint, notes = replay_both(store, playbook, PRUNING_CHECKPOINTS)
    assert notes == []
    assert sorted((row["lead_id"], row["passed_at"].day) for row in one_pass) == [
        ("ann", 1),
        ("bob", 2),
        ("cid", 1),
        ("dee", 2),
        ("eve", 1),
    ]
    assert one_pass == sorted(per_checkpoint, key=lambda row: (row["passed_at"], row["lead_key"]))


ONLY_NEGATIVE = """      - {event: demo_requested, points: -5}
"""
ONLY_AT_LEAST = """      - {event: page_view, at_least: 2, within_days: 1, points: 20}
"""


@pytest.mark.parametrize(
    ("rules", "kept", "passed"),
    [(ONLY_NEGATIVE, set(), []), (ONLY_AT_LEAST, {"ann"}, [("ann", dt.datetime(2026, 3, 1))])],
    ids=["only-negative-points", "only-at-least"],
)
def test_scores_without_running_sums_are_bounded_too(
    store: Store, rules: str, kept: set[str], passed: list[tuple[str, dt.datetime]]
) -> None:
    """Engagement from negative points alone can never reach 20: no lead is kept. From one
    ``at_least`` rule (2 page views in a day: 20): only ann (two views, fit 10) can pass; cid has
    one view, and the others none or fit 0."""
    pruning_world(store)
    text = PRUNING_WORLD.replace(PRUNING_RULES, rules)
    playbook = parse_playbook(text, "pruning.yaml")
    assert kept_leads(store, playbook, PRUNING_CHECKPOINTS) == kept
    one_pass, per_checkpoint, _ = replay_both(store, playbook, PRUNING_CHECKPOINTS)
    assert [(row["lead_id"], row["passed_at"]) for row in one_pass] == passed
    assert one_pass == per_checkpoint


def test_conditions_the_bounds_cannot_rule_on_keep_every_lead(store: Store) -> None:
    """A shortcut on a trait alone, or a score below a number (the bounds are upper bounds only)."""
    pruning_world(store)
    trait_shortcut = PRUNING_WORLD.replace(
        "  sal:", "  fast_track: {when: \"lead.role == 'CEO'\", goes_to: mql}\n  sal:"
    )
    below = PRUNING_WORLD.replace("fit >= 10 and not (engagement < 20)", "engagement < 20")
    for text in (trait_shortcut, below):
        assert kept_leads(store, parse_playbook(text, "pruning.yaml"), PRUNING_CHECKPOINTS) is None


def test_three_valued_reading_of_conditions() -> None:
    """``possibly`` and ``surely`` of conditions on a fit of at most 30, worked out by hand: a trait
    test may hold and is never sure."""
    backend = ibis.duckdb.connect()

    def read(value: object) -> object:
        return value if isinstance(value, bool) else backend.execute(value)

    high = ibis.literal(30.0)
    expected = {
        "fit >= 30": (True, False),
        "fit > 30": (False, False),
        "fit == 30": (True, False),
        "fit >= 31": (False, False),
        "fit between 31 and 40": (False, False),
        "fit between 20 and 40": (True, False),
        "fit < 31": (True, True),
        "fit <= 30": (True, True),
        "fit != 31": (True, True),
        "fit != 30": (True, False),
        "not (fit < 31)": (False, False),
        "not (fit >= 31)": (True, True),
        "fit >= 31 or lead.role == 'CEO'": (True, False),
        "fit >= 31 and lead.role == 'CEO'": (False, False),
        "not (fit >= 31 or lead.role == 'CEO')": (True, False),
    }
    found = {
        text: (
            read(possibly(parse_condition(text), {("fit",): high})),
            read(surely(parse_condition(text), {("fit",): high})),
        )
        for text in expected
    }
    assert found == expected


@settings(EXAMPLES, max_examples=25)
@given(cases(Sections(fit=2, engagement=3, named=1, product=True, accounts=True), most_leads=4, most_events=24))
def test_the_bounds_keep_every_lead_the_oracle_passes(case: Case) -> None:
    """Scores-only stage conditions (where the bounds rule most leads out): no lead the oracle
    passes at a checkpoint is left out."""
    playbook = parse_playbook(case.playbook_text, "oracle.yaml")
    checkpoints = checkpoints_around(case.as_of)
    expected, _ = oracle_passes(case, checkpoints)
    if obstacles(playbook, checkpoints):
        return
    with tempfile.TemporaryDirectory() as folder:
        store = DuckDBStore(Path(folder) / "leadgate.duckdb")
        try:
            save_history(World(store), case.history, case.new_batch_at)
            kept = kept_leads(store, playbook, checkpoints)
        finally:
            store.close()
    ruled_out = kept is not None and len(kept) < len(case.history.lead_ids())
    event("some leads ruled out" if ruled_out else "no lead ruled out")
    assert kept is None or set(expected) <= kept
