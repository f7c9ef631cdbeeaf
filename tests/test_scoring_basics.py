"""Hand-computed scores on tiny worlds (the expected numbers are worked out in comments)."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from leadgate.errors import PlaybookInvalid
from leadgate.playbook.compiled import Playbook
from leadgate.playbook.loader import parse_playbook
from leadgate.scoring.engine import score_leads
from leadgate.scoring.events import EventPlan
from leadgate.scoring.moment import year_span
from leadgate.store.base import Store
from tests.worlds import World, at

PLAYBOOK = """
name: t
version: 1
timezone: Europe/Paris
scoring:
  fit:
    - {when: "account.employees >= 200", points: 20}
    - {when: "lead.role in [CTO, CEO]", points: 15}
  engagement:
    half_life_days: 10
    rules:
      - {event: page_view, where: "properties.path startswith '/pricing'", points: 10, max_per_day: 1}
      - {event: email_clicked, points: 3, cap: 5}
      - {event: demo_requested, points: 40, decay: false}
  cap_total: 100
stages:
  mql: {when: "fit >= 30 and engagement >= 40"}
  sal: {reject_reasons: {no_budget: {then: recycle, cool_off_days: 30}}}
"""


def score(world: World, as_of: str) -> dict[str, dict]:
    playbook = parse_playbook(PLAYBOOK, "t.yaml")
    rows = score_leads(world.store.facts(), playbook, at(as_of)).to_pyarrow().to_pylist()
    return {row["lead_id"]: row for row in rows}


def test_fit_decay_daily_cap_and_stage(world: World) -> None:
    world.account("acme", employees=500)
    world.lead("alice", account="acme", role="cto")  # role matches case-insensitively
    # Two pricing visits on 2026-11-10 (Paris) count once, aged from the later one (10 days);
    # one on 2026-11-15 (5 days old).
    world.did("alice", "page_view", "2026-11-10T08:00:00", path="/pricing")
    world.did("alice", "page_view", "2026-11-10T09:00:00", path="/pricing/teams")
    world.did("alice", "page_view", "2026-11-15T09:00:00", path="/Pricing")
    world.did("alice", "email_clicked", "2026-11-20T09:00:00")  # age 0: 3 points
    world.did("alice", "email_clicked", "2026-11-20T09:00:00")  # 3 more, capped to 5 in total
    world.did("alice", "demo_requested", "2026-10-01T09:00:00")  # no decay: 40
    world.did("alice", "demo_requested", "2026-11-21T09:00:00")  # after as-of: ignored
    world.save()
    row = score(world, "2026-11-20T09:00:00")["alice"]
    pricing = 10 * 0.5 ** (10 / 10) + 10 * 0.5 ** (5 / 10)  # ages 10 and 5 days, half-life 10
    assert row["c_fit_1"] == 20 and row["c_fit_2"] == 15 and row["fit"] == 35
    assert row["c_engagement_1"] == pytest.approx(pricing, rel=1e-12)
    assert row["c_engagement_2"] == 5
    assert row["c_engagement_3"] == 40
    assert row["engagement"] == pytest.approx(pricing + 45, rel=1e-12)
    assert row["qualifies_as"] == "mql"
    assert math.isclose(row["score"], row["fit"] + row["engagement"])


def test_total_cap_is_an_explicit_adjustment(world: World) -> None:
    world.lead("bob")
    for day in range(1, 4):
        world.did("bob", "demo_requested", f"2026-11-0{day}T09:00:00")  # 3 x 40 = 120, capped at 100
    world.save()
    row = score(world, "2026-11-20T00:00:00")["bob"]
    assert row["c_engagement_3"] == 120
    assert row["c_engagement_cap"] == -20
    assert row["engagement"] == 100


def test_anonymous_history_joins_the_lead_after_an_alias(world: World) -> None:
    world.lead("carol")
    world.did(None, "demo_requested", "2026-11-01T09:00:00", anonymous_id="cookie-1")
    world.save()
    assert score(world, "2026-11-20T00:00:00")["carol"]["engagement"] == 0
    world.alias("cookie-1", "carol").save()
    assert score(world, "2026-11-20T00:00:00")["carol"]["engagement"] == 40


PREDICTED = PLAYBOOK.replace(
    'mql: {when: "fit >= 30 and engagement >= 40"}',
    'mql: {when: "fit >= 30 and (engagement >= 40 or p_convert >= 0.25)"}',
)


def test_the_predicted_probability_can_qualify_a_lead_and_is_missing_without_a_prediction(store: Store) -> None:
    world = World(store)
    world.account("acme", employees=500)
    for name in ("ann", "bob", "cid"):  # fit 35 each (20 + 15), no engagement
        world.lead(name, account="acme", role="CEO")
    world.save()
    playbook = parse_playbook(PREDICTED, "t.yaml")
    rows = {
        r["lead_id"]: r
        for r in score_leads(store.facts(), playbook, at("2026-11-20T09:00:00")).to_pyarrow().to_pylist()
    }
    assert {name: rows[name]["q_mql"] for name in rows} == {"ann": False, "bob": False, "cid": False}  # no model yet
    keys = {name: store.lead_key_of(name) for name in ("ann", "bob")}
    predictions = pa.table(
        {
            "lead_key": pa.array([keys["ann"], keys["bob"]], pa.int64()),
            "model_version": pa.array([1, 1], pa.int64()),
            "p_convert": pa.array([0.25, 0.2499], pa.float64()),  # ann at the threshold, bob just under
            "as_of": pa.array([at("2026-11-20T00:00:00")] * 2, pa.timestamp("us")),
            "top_factors": pa.array(["[]", "[]"]),
        }
    )
    store.replace_table_from_arrow("lead_predictions", predictions)
    scored = score_leads(store.facts(), playbook, at("2026-11-20T09:00:00")).to_pyarrow().to_pylist()
    rows = {r["lead_id"]: r for r in scored}
    assert {name: rows[name]["qualifies_as"] for name in rows} == {"ann": "mql", "bob": "inquiry", "cid": "inquiry"}
    assert rows["ann"]["fit"] == 35 and rows["ann"]["score"] == 35  # the probability adds no points


def test_a_fit_rule_cannot_read_the_predicted_probability() -> None:
    text = PLAYBOOK.replace('"lead.role in [CTO, CEO]"', '"p_convert >= 0.5"')
    with pytest.raises(PlaybookInvalid) as raised:
        parse_playbook(text, "t.yaml")
    (issue,) = raised.value.issues
    assert issue.code == "PB105" and "p_convert" in str(issue)


def test_year_span_is_the_utc_calendar_year_of_the_moment() -> None:
    # 2026-01-01 00:00 UTC is 20,454 days after 1970-01-01 (56 years, 14 of them leap years):
    # 1,767,225,600 s; 2027-01-01 is 365 days later: 1,798,761,600 s.
    span_2026 = (1_767_225_600, 1_798_761_600)
    assert year_span(dt.datetime(2026, 7, 1, 12)) == span_2026
    assert year_span(dt.datetime(2026, 12, 31, 23, 59, 59)) == span_2026
    assert year_span(dt.datetime(2027, 1, 1)) == (1_798_761_600, 1_830_297_600)
    # 00:30 on New Year's day in Paris is still 2026 in UTC
    assert year_span(dt.datetime(2027, 1, 1, 0, 30, tzinfo=ZoneInfo("Europe/Paris"))) == span_2026


def with_scoring(scoring: str) -> Playbook:
    """A playbook with this ``scoring`` section (indented under it) and the stages every playbook needs."""
    stages = 'stages:\n  mql: {when: "engagement >= 40"}\n  sal: {reject_reasons: {no_budget: {then: recycle, cool_off_days: 30}}}\n'
    return parse_playbook(f"name: t\nversion: 1\ntimezone: Europe/Paris\nscoring:\n{scoring}{stages}", "t.yaml")


def test_a_text_several_rules_test_is_folded_once_and_each_rule_still_ignores_case(world: World) -> None:
    playbook = with_scoring(
        """\
  engagement:
    rules:
      - {event: page_view, where: "properties.path startswith '/PRICING'", points: 10, decay: false}
      - {event: page_view, where: "properties.path in ['/İstanbul', '/careers']", points: 1, decay: false}
      - {event: page_view, where: "properties.path == '/ABOUT'", points: 100, decay: false}
      - {event: whitepaper_downloaded, where: "properties.topic == 'Analytics'", points: 5, decay: false}
      - {event: whitepaper_downloaded, where: "properties.topic endswith 'TICS' and properties.pages >= 10", points: 7, decay: false}
"""
    )
    # path and topic are each compared as text by two rules or more: one folded column each,
    # read on the events of those rules; pages only as a number.
    plan = EventPlan(playbook, world.store.facts(), at("2026-11-20T00:00:00"))
    assert plan.folded_columns == {
        "path": ("folded_0", ("page_view",)),
        "topic": ("folded_1", ("whitepaper_downloaded",)),
    }
    world.lead("alice")
    world.did("alice", "page_view", "2026-11-10T08:00:00", path="/pricing/teams")  # rule 1: 10
    world.did("alice", "page_view", "2026-11-10T08:01:00", path="/Pricing")  # rule 1: 10
    world.did("alice", "page_view", "2026-11-10T08:02:00", path="/ISTANBUL")  # rule 2: İ folds to i: 1
    world.did("alice", "page_view", "2026-11-10T08:03:00", path="/about")  # rule 3: 100
    world.did("alice", "page_view", "2026-11-10T08:04:00", path="/about/team")  # none
    world.did("alice", "whitepaper_downloaded", "2026-11-10T09:00:00", topic="ANALYTICS", pages="12")  # 5 + 7
    world.did("alice", "whitepaper_downloaded", "2026-11-10T09:01:00", topic="analytics", pages="3")  # 5
    world.save()
    rows = score_leads(world.store.facts(), playbook, at("2026-11-20T00:00:00")).to_pyarrow().to_pylist()
    row = {row["lead_id"]: row for row in rows}["alice"]
    contributions = [row[f"c_engagement_{number}"] for number in range(1, 6)]
    assert contributions == [20, 1, 100, 10, 7]


def test_a_product_signal_s_test_counts_once_whatever_its_events(world: World) -> None:
    playbook = with_scoring(
        """\
  engagement:
    rules:
      - {event: trial_started, where: "properties.plan == 'Pro'", points: 10}
  product:
    window_days: 14
    signals:
      pro_usage: {count: events, events: [feature_used, session_started], where: "properties.plan == 'pro' and properties.seat contains 'a'"}
"""
    )
    # plan: tested by the rule and by the signal, read on the three events; seat: by the
    # signal alone (once, though the signal has two events), so folded where it is tested.
    plan = EventPlan(playbook, world.store.facts(), at("2026-11-20T00:00:00"))
    assert plan.folded_columns == {"plan": ("folded_0", ("feature_used", "session_started", "trial_started"))}
