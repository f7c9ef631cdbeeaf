"""Funnel analytics on a small history whose every figure was worked out by hand.

Seven leads, three weeks of November 2026 (weeks start on Mondays 2, 9 and 16):

- alice: known 11-02 09:00 (first touch google/cpc/spring, a later linkedin touch), account
  acme (1,500 employees); MQL 11-03 09:00 (score 72) and routed to bruno (due 13:00), accepted
  11:00, SQL 11-05, opportunity 11-06, won 11-13 09:00.
- bob: known 11-03 08:00 (google), account beta (300); MQL 11-04 09:00 (score 55), routed to
  carol (due 13:00), rejected no_budget at 15:00 (late), recycled; MQL again 11-10 09:00
  (score 65, playbook 2), routed to carol, accepted 10:00, SQL 11-12.
- cleo: known 11-04 12:00, no UTM touch, lead source trait "webinar"; PQL 11-05 09:00 (score
  30), routed to bruno (due 13:00), nobody answered: SLA breach and recycled 11-06 09:00.
- dan: known 11-10 09:00 (linkedin/social/launch), account gamma (20); MQL 11-11 09:00 (score
  90, playbook 2), routed to bruno, rejected not_icp 10:00, disqualified.
- eve: known 11-11 10:00 (linkedin); never qualified.
- fay: known 11-17 06:00, no touch, no source; MQL 11-18 09:00 (score 45, playbook 2), routed
  to carol (due 13:00), still waiting.
- gus: known 11-05 10:00 (google); MQL 11-06 09:00 (score 58), routed to carol, rejected
  no_budget 12:00, recycled.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from leadgate.analytics import calibration, funnel, reasons, recycling, sla, velocity
from leadgate.analytics.cohorts import Window
from leadgate.analytics.journeys import journeys
from leadgate.analytics.report import build_report
from leadgate.analytics.tables import FunnelTables, export_parquet, from_parquet, from_store
from leadgate.store.base import Store
from leadgate.store.duckdb_store import DuckDBStore
from leadgate.store.spark_store import _typed_column
from tests.worlds import Lifecycle, World, at

ALL = Window()


def tell_story(store: Store) -> None:
    world = World(store)
    world.account("acme", employees=1500).account("beta", employees=300).account("gamma", employees=20)
    world.lead("alice", account="acme", learnt_at="2026-11-02T09:00:00", role="CTO")
    world.did("alice", "page_view", "2026-11-02T10:00:00", utm_source="google", utm_medium="cpc", utm_campaign="spring")
    world.did("alice", "page_view", "2026-11-04T10:00:00", utm_source="linkedin", utm_medium="social")
    world.lead("bob", account="beta", learnt_at="2026-11-03T08:00:00", role="CFO")
    world.did("bob", "page_view", "2026-11-03T08:30:00", utm_source="google", utm_medium="cpc", utm_campaign="spring")
    world.lead("cleo", learnt_at="2026-11-04T12:00:00", source="webinar")
    world.did("cleo", "webinar_attended", "2026-11-04T13:00:00")
    world.lead("dan", account="gamma", learnt_at="2026-11-10T09:00:00", role="CEO")
    world.did(
        "dan", "page_view", "2026-11-10T09:30:00", utm_source="linkedin", utm_medium="social", utm_campaign="launch"
    )
    world.lead("eve", learnt_at="2026-11-11T10:00:00", role="Intern")
    world.did(
        "eve", "page_view", "2026-11-11T10:05:00", utm_source="linkedin", utm_medium="social", utm_campaign="launch"
    )
    world.lead("fay", learnt_at="2026-11-17T06:00:00", role="VP")
    world.lead("gus", learnt_at="2026-11-05T10:00:00", role="CTO")
    world.did("gus", "page_view", "2026-11-05T10:10:00", utm_source="google", utm_medium="cpc", utm_campaign="spring")
    world.save()

    story = Lifecycle(store)
    story.move("alice", "inquiry", "mql", "2026-11-03T09:00:00", score=72)
    story.assign("alice", "bruno", "2026-11-03T09:00:00", due="2026-11-03T13:00:00")
    story.move("alice", "mql", "sal_pending", "2026-11-03T09:00:00", cause="routing")
    story.decide("alice", "accept", "bruno", "2026-11-03T11:00:00")
    story.move("alice", "sal_pending", "sal", "2026-11-03T11:00:00", cause="decision")
    story.decide("alice", "qualify", "bruno", "2026-11-05T09:00:00")
    story.move("alice", "sal", "sql", "2026-11-05T09:00:00", cause="decision")
    story.decide("alice", "opportunity", "bruno", "2026-11-06T09:00:00")
    story.move("alice", "sql", "opportunity", "2026-11-06T09:00:00", cause="decision")
    story.decide("alice", "won", "bruno", "2026-11-13T09:00:00")
    story.move("alice", "opportunity", "won", "2026-11-13T09:00:00", cause="decision")

    story.move("bob", "inquiry", "mql", "2026-11-04T09:00:00", score=55)
    story.assign("bob", "carol", "2026-11-04T09:00:00", due="2026-11-04T13:00:00")
    story.move("bob", "mql", "sal_pending", "2026-11-04T09:00:00", cause="routing")
    story.decide("bob", "reject", "carol", "2026-11-04T15:00:00", reason="no_budget")
    story.move("bob", "sal_pending", "rejected", "2026-11-04T15:00:00", cause="decision")
    story.move("bob", "rejected", "recycled", "2026-11-04T15:00:00", cause="consequence")
    story.move("bob", "recycled", "mql", "2026-11-10T09:00:00", score=65, playbook_version=2)
    story.assign("bob", "carol", "2026-11-10T09:00:00", due="2026-11-10T13:00:00")
    story.move("bob", "mql", "sal_pending", "2026-11-10T09:00:00", cause="routing", playbook_version=2)
    story.decide("bob", "accept", "carol", "2026-11-10T10:00:00")
    story.move("bob", "sal_pending", "sal", "2026-11-10T10:00:00", cause="decision", playbook_version=2)
    story.decide("bob", "qualify", "carol", "2026-11-12T09:00:00")
    story.move("bob", "sal", "sql", "2026-11-12T09:00:00", cause="decision", playbook_version=2)

    story.move("cleo", "inquiry", "pql", "2026-11-05T09:00:00", score=30)
    story.assign("cleo", "bruno", "2026-11-05T09:00:00", due="2026-11-05T13:00:00")
    story.move("cleo", "pql", "sal_pending", "2026-11-05T09:00:00", cause="routing")
    story.breach("cleo", "bruno", "2026-11-05T13:00:00", "2026-11-06T09:00:00")
    story.move("cleo", "sal_pending", "recycled", "2026-11-06T09:00:00", cause="sla")

    story.move("dan", "inquiry", "mql", "2026-11-11T09:00:00", score=90, playbook_version=2)
    story.assign("dan", "bruno", "2026-11-11T09:00:00", due="2026-11-11T13:00:00")
    story.move("dan", "mql", "sal_pending", "2026-11-11T09:00:00", cause="routing", playbook_version=2)
    story.decide("dan", "reject", "bruno", "2026-11-11T10:00:00", reason="not_icp")
    story.move("dan", "sal_pending", "rejected", "2026-11-11T10:00:00", cause="decision", playbook_version=2)
    story.move("dan", "rejected", "disqualified", "2026-11-11T10:00:00", cause="consequence", playbook_version=2)

    story.move("fay", "inquiry", "mql", "2026-11-18T09:00:00", score=45, playbook_version=2)
    story.assign("fay", "carol", "2026-11-18T09:00:00", due="2026-11-18T13:00:00")
    story.move("fay", "mql", "sal_pending", "2026-11-18T09:00:00", cause="routing", playbook_version=2)

    story.move("gus", "inquiry", "mql", "2026-11-06T09:00:00", score=58)
    story.assign("gus", "carol", "2026-11-06T09:00:00", due="2026-11-06T13:00:00")
    story.move("gus", "mql", "sal_pending", "2026-11-06T09:00:00", cause="routing")
    story.decide("gus", "reject", "carol", "2026-11-06T12:00:00", reason="no_budget")
    story.move("gus", "sal_pending", "rejected", "2026-11-06T12:00:00", cause="decision")
    story.move("gus", "rejected", "recycled", "2026-11-06T12:00:00", cause="consequence")
    story.save()


@pytest.fixture(scope="module")
def story_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    store = DuckDBStore(tmp_path_factory.mktemp("story") / "leadgate.duckdb")
    tell_story(store)
    yield store
    store.close()


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)], ids=["duckdb", "spark"]
)
def tables(
    request: pytest.FixtureRequest, story_store: DuckDBStore, tmp_path_factory: pytest.TempPathFactory
) -> FunnelTables:
    duckdb_tables = from_store(story_store)
    if request.param == "duckdb":
        return duckdb_tables
    import ibis

    directory = tmp_path_factory.mktemp("story-parquet")
    export_parquet(duckdb_tables, directory)
    session = request.getfixturevalue("spark_session")
    return from_parquet(ibis.pyspark.connect(session), directory, "analytics_story")


@pytest.fixture(scope="module")
def lead_journeys(tables: FunnelTables) -> Iterator[Any]:
    cached = journeys(tables).cache()
    yield cached
    cached.release()  # before the store closes


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Any], list[dict[str, Any]]]:
    output = tmp_path_factory.mktemp("spark-output")
    return lambda expression: collect(expression, output)


def collect(expression: Any, output: Path) -> list[dict[str, Any]]:
    """The rows of an expression. Spark writes them as Parquet, read back here, as batch jobs do
    (pyspark's ``collect`` leaves its result socket open, which warnings-as-errors refuse)."""
    backend = expression._find_backend()
    if backend.name != "pyspark":
        return expression.to_pyarrow().to_pylist()
    frame = backend._session.sql(backend.compile(expression))
    typed = frame.select(*(_typed_column(name, dtype) for name, dtype in expression.schema().items()))
    target = output / uuid.uuid4().hex
    typed.write.parquet(str(target))
    return pq.read_table(target).to_pylist()


def steps(table: list[dict[str, Any]]) -> dict[tuple[Any, ...], tuple[int, int]]:
    return {
        (row["step_from"], row["step_to"], row["cohort"], row["value"]): (row["entered"], row["converted"])
        for row in table
    }


def test_stage_to_stage_conversion_counts_each_cohort_lead_that_ever_reached_the_next_stage(
    rows: Any, lead_journeys: Any
) -> None:
    found = steps(rows(funnel.conversion(lead_journeys, ALL)))
    expected = {
        ("inquiry", "mql"): (7, 5),
        ("inquiry", "pql"): (7, 1),
        ("mql", "sal"): (5, 2),  # alice and bob (bob on his second MQL), not dan, fay, gus
        ("pql", "sal"): (1, 0),
        ("sal", "sql"): (2, 2),
        ("sql", "opportunity"): (2, 1),
        ("opportunity", "won"): (1, 1),
        ("sql", "won"): (2, 1),
        ("inquiry", "won"): (7, 1),
        ("qualified", "sql"): (6, 2),
        ("qualified", "won"): (6, 1),
    }
    assert {(source, target): counts for (source, target, _, _), counts in found.items()} == expected


def test_conversion_by_weekly_cohort_and_window(rows: Any, lead_journeys: Any) -> None:
    weekly = steps(rows(funnel.conversion(lead_journeys, ALL, by_cohort=True, steps=(("mql", "sal"),))))
    assert weekly == {
        ("mql", "sal", dt.datetime(2026, 11, 2), None): (3, 2),  # alice, bob, gus
        ("mql", "sal", dt.datetime(2026, 11, 9), None): (1, 0),  # dan
        ("mql", "sal", dt.datetime(2026, 11, 16), None): (1, 0),  # fay
    }
    second_week = Window(at("2026-11-09T00:00:00"), at("2026-11-16T00:00:00"))
    windowed = steps(rows(funnel.conversion(lead_journeys, second_week, steps=(("inquiry", "mql"),))))
    assert windowed == {("inquiry", "mql", None, None): (2, 1)}  # dan and eve; dan qualified


@pytest.mark.parametrize(
    ("dimension", "step", "expected"),
    [
        ("source", ("inquiry", "mql"), {"google": (3, 3), "linkedin": (2, 1), "webinar": (1, 0), "(none)": (1, 1)}),
        ("campaign", ("inquiry", "mql"), {"spring": (3, 3), "launch": (2, 1), "(none)": (2, 1)}),
        ("source", ("qualified", "won"), {"google": (3, 1), "linkedin": (1, 0), "webinar": (1, 0), "(none)": (1, 0)}),
        ("playbook_version", ("qualified", "sql"), {"1": (4, 2), "2": (2, 0)}),
        (
            "segment",
            ("inquiry", "mql"),
            {"enterprise": (1, 1), "mid-market": (1, 1), "very small": (1, 1), "(none)": (4, 2)},
        ),
        ("owner", ("mql", "sal"), {"bruno": (2, 1), "carol": (3, 1)}),
        ("team", ("mql", "sal"), {"sales": (5, 2)}),
    ],
)
def test_conversion_by_dimension(
    rows: Any, lead_journeys: Any, dimension: str, step: tuple[str, str], expected: dict[str, Any]
) -> None:
    found = steps(rows(funnel.conversion(lead_journeys, ALL, by=dimension, steps=(step,))))
    assert {value: counts for (_, _, _, value), counts in found.items()} == expected


def test_funnel_counts_and_weekly_volume(rows: Any, lead_journeys: Any) -> None:
    assert rows(funnel.funnel_counts(lead_journeys, ALL)) == [
        {"inquiry": 7, "qualified": 6, "sal": 2, "sql": 2, "opportunity": 1, "won": 1}
    ]
    volume = {(row["period"], row["stage"]): row["leads"] for row in rows(funnel.volume(lead_journeys, ALL))}
    assert {period.day: count for (period, stage), count in volume.items() if stage == "inquiry"} == {2: 4, 9: 2, 16: 1}
    assert {period.day: count for (period, stage), count in volume.items() if stage == "mql"} == {2: 3, 9: 1, 16: 1}
    assert {period.day: count for (period, stage), count in volume.items() if stage == "won"} == {9: 1}


def test_velocity_is_the_nearest_rank_median_and_p90_in_days(rows: Any, lead_journeys: Any) -> None:
    found = {(row["step_from"], row["step_to"]): row for row in rows(velocity.stage_durations(lead_journeys, ALL))}
    # inquiry -> mql: gus 23 h, alice 24 h, dan 24 h, bob 25 h, fay 27 h: ranks 3 and 5 of 5.
    assert found["inquiry", "mql"]["count"] == 5
    assert found["inquiry", "mql"]["median"] == pytest.approx(1.0)
    assert found["inquiry", "mql"]["p90"] == pytest.approx(27 / 24)
    # mql -> sal: alice 2 h; bob 6 days and 1 hour from his first MQL: ranks 1 and 2 of 2.
    assert found["mql", "sal"]["median"] == pytest.approx(2 / 24)
    assert found["mql", "sal"]["p90"] == pytest.approx(6 + 1 / 24)
    # time to close: alice, MQL 11-03 09:00 to won 11-13 09:00.
    assert (found["qualified", "won"]["count"], found["qualified", "won"]["median"]) == (1, pytest.approx(10.0))


def test_hours_from_assignment_to_first_sales_action(rows: Any, tables: FunnelTables) -> None:
    overall = rows(velocity.first_action_summary(tables, ALL))
    # alice 2 h, bob 6 h then 1 h, dan 1 h, gus 3 h (cleo and fay: no action): 1, 1, 2, 3, 6.
    assert [(row["count"], row["median"], row["p90"]) for row in overall] == [(5, 2.0, 6.0)]
    by_owner = {
        row["value"]: (row["median"], row["p90"]) for row in rows(velocity.first_action_summary(tables, ALL, "owner"))
    }
    assert by_owner == {"bruno": (1.0, 2.0), "carol": (3.0, 6.0)}


def test_sla_compliance(rows: Any, tables: FunnelTables) -> None:
    overall = rows(sla.sla_summary(tables, ALL))
    # on time: alice, dan, gus, bob's second; breached: bob's first (late), cleo (breach); open: fay.
    assert [(row["on_time"], row["breached"], row["open"]) for row in overall] == [(4, 2, 1)]
    by_owner = {
        row["value"]: (row["on_time"], row["breached"], row["open"])
        for row in rows(sla.sla_summary(tables, ALL, "owner"))
    }
    assert by_owner == {"bruno": (2, 1, 0), "carol": (2, 1, 1)}


def test_rejection_reasons_pareto(rows: Any, tables: FunnelTables) -> None:
    counts = [(row["reason"], row["count"]) for row in rows(reasons.reason_counts(tables, ALL))]
    assert reasons.pareto(counts) == [
        ("no_budget", 2, pytest.approx(2 / 3), pytest.approx(2 / 3)),
        ("not_icp", 1, pytest.approx(1 / 3), pytest.approx(1.0)),
    ]


def test_recycled_leads_that_come_back(rows: Any, lead_journeys: Any) -> None:
    # bob, cleo and gus were recycled; only bob qualified again, was accepted and became SQL.
    assert rows(recycling.recycled_comebacks(lead_journeys, ALL)) == [
        {"recycled": 3, "qualified": 1, "sal": 1, "sql": 1, "won": 0}
    ]


def test_conversion_by_rule_score_band(rows: Any, lead_journeys: Any) -> None:
    bands = {
        row["band"]: (row["leads"], row["sql"], row["won"]) for row in rows(calibration.score_bands(lead_journeys, ALL))
    }
    # first-qualification scores: cleo 30; bob 55, fay 45, gus 58; alice 72; dan 90.
    assert bands == {20.0: (1, 0, 0), 40.0: (3, 1, 0), 60.0: (1, 1, 1), 80.0: (1, 0, 0)}


def test_without_a_model_there_is_no_probability_calibration(tables: FunnelTables) -> None:
    assert tables.model is None


@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
def test_postgres_gives_the_same_figures(store: Store) -> None:
    """The same expressions on PostgreSQL (the production store), on the figures with the most SQL in them."""
    tell_story(store)
    tables = from_store(store)
    lead_journeys = journeys(tables)
    found = steps(collect(funnel.conversion(lead_journeys, ALL, by="owner", steps=(("mql", "sal"),)), Path()))
    assert {value: counts for (_, _, _, value), counts in found.items()} == {"bruno": (2, 1), "carol": (3, 1)}
    durations = collect(velocity.stage_durations(lead_journeys, ALL), Path())
    inquiry_mql = next(row for row in durations if (row["step_from"], row["step_to"]) == ("inquiry", "mql"))
    assert (inquiry_mql["median"], inquiry_mql["p90"]) == (pytest.approx(1.0), pytest.approx(27 / 24))
    assert [
        (row["on_time"], row["breached"], row["open"]) for row in collect(sla.sla_summary(tables, ALL), Path())
    ] == [(4, 2, 1)]
    assert collect(recycling.recycled_comebacks(lead_journeys, ALL), Path()) == [
        {"recycled": 3, "qualified": 1, "sal": 1, "sql": 1, "won": 0}
    ]


def test_the_report_shows_the_latest_model_on_its_validation_episodes(tmp_path: Path) -> None:
    """Two model records written by hand; the report carries the latest one's calibration bins as
    recorded (predictions made before the outcomes they are compared with), not version 1's."""
    store = DuckDBStore(tmp_path / "leadgate.duckdb")
    try:
        tell_story(store)
        for version, bins in ((1, [[0.2, 0.5, 10]]), (2, [[0.25, 0.2, 20], [0.75, 0.7, 20]])):
            calibration_bins = [{"mean_predicted": p, "observed_rate": o, "count": n} for p, o, n in bins]
            metrics = {"expected_calibration_error": 0.05 * version, "calibration": calibration_bins}
            store.con.execute(
                "INSERT INTO models (version, trained_at, as_of, playbook_version, converts_at, window_start, window_end,"
                " validation_from, n_train, n_validation, features, metrics, baseline_metrics, model)"
                " VALUES (?, '2026-11-20', '2026-11-20', 1, 'sql', '2026-09-01', '2026-11-01', '2026-10-15', 120, 40,"
                " '[]', ?, '{}', '')",
                [version, json.dumps(metrics)],
            )
        built = build_report(from_store(store), ALL)
    finally:
        store.close()
    model = built.model_calibration
    assert model is not None
    assert (model.model_version, model.converts_at, model.episodes, model.expected_calibration_error) == (
        2,
        "sql",
        40,
        0.1,
    )
    assert [(item.mean_predicted, item.observed_rate, item.count) for item in model.bins] == [
        (0.25, 0.2, 20),
        (0.75, 0.7, 20),
    ]
