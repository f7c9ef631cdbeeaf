"""The oracle checked by hand, so that it is not merely trusted: tiny histories whose every
expected number is worked out in the comments."""

from __future__ import annotations

import datetime as dt

import pytest

from leadgate.playbook.loader import parse_playbook
from tests.oracle import UNDECIDED, AccountLink, Event, History, TraitFact, score_slowly

AS_OF = dt.datetime(2026, 11, 20, 12, 0, 0)
LEARNT = dt.datetime(2026, 1, 1)
SAL = "  sal: {reject_reasons: {no_budget: {then: recycle, cool_off_days: 30}}}\n"


def ago(days: float = 0, seconds: int = 0) -> dt.datetime:
    return AS_OF - dt.timedelta(days=days, seconds=seconds)


def playbook(body: str, mql: str = "fit >= 1000", timezone: str = "UTC") -> str:
    return f"name: t\nversion: 1\ntimezone: {timezone}\n{body}stages:\n  mql: {{when: '{mql}'}}\n{SAL}"


def score(body: str, history: History, as_of: dt.datetime = AS_OF, **options: str) -> dict[str, dict[str, object]]:
    return score_slowly(history, parse_playbook(playbook(body, **options), "t.yaml"), as_of)


def events(*items: tuple[str, dt.datetime] | tuple[str, dt.datetime, dict[str, str | int | None]]) -> History:
    return History(events=tuple(Event("ann", item[0], item[1], item[2] if len(item) > 2 else {}) for item in items))


def test_decay_halves_points_every_half_life_and_once_keeps_the_first_event() -> None:
    body = """scoring:
  engagement:
    half_life_days: 7
    rules:
      - {event: page_view, points: 10}
      - {event: trial_started, points: 8, once: true}
      - {event: demo_requested, points: 40, decay: false}
      - {event: email_clicked, points: 4, half_life_days: 1}
"""
    history = events(
        ("page_view", ago(7)),  # 10 x 2^(-7/7) = 5
        ("page_view", ago(0)),  # age 0: 10
        ("page_view", ago(seconds=-1)),  # after as-of: ignored
        ("trial_started", ago(14)),  # the first one: 8 x 2^(-14/7) = 2
        ("trial_started", ago(1)),  # not counted (once)
        ("demo_requested", ago(300)),  # no decay: 40
        ("email_clicked", ago(2)),  # own half-life of 1 day: 4 x 2^-2 = 1
    )
    row = score(body, history)["ann"]
    assert row["c_engagement_1"] == pytest.approx(15)
    assert row["c_engagement_2"] == pytest.approx(2)
    assert row["c_engagement_3"] == 40
    assert row["c_engagement_4"] == pytest.approx(1)
    assert row["engagement"] == pytest.approx(58)  # 15 + 2 + 40 + 1


def test_caps_bound_a_rule_either_way_and_cap_total_is_an_adjustment() -> None:
    body = """scoring:
  engagement:
    rules:
      - {event: email_clicked, points: 3, cap: 5}
      - {event: email_unsubscribed, points: -5, cap: 12}
      - {event: demo_requested, points: 40}
  cap_total: 100
"""
    history = events(
        *[("email_clicked", ago(1))] * 2,  # 3 + 3 = 6, capped at 5
        *[("email_unsubscribed", ago(1))] * 3,  # -15, bounded at -12
        *[("demo_requested", ago(1))] * 3,  # 120 (no half-life: no decay)
    )
    row = score(body, history)["ann"]
    assert (row["c_engagement_1"], row["c_engagement_2"], row["c_engagement_3"]) == (5, -12, 120)
    assert row["c_engagement_cap"] == -13  # raw 5 - 12 + 120 = 113 > 100: 100 - 113
    assert row["engagement"] == 100


def test_max_per_day_counts_local_days_across_a_dst_change() -> None:
    # Paris leaves summer time on 25 Oct 2026 at 01:00 UTC (03:00 CEST -> 02:00 CET).
    body = """scoring:
  engagement:
    rules:
      - {event: page_view, points: 10, max_per_day: 1, decay: false}
"""
    history = events(
        ("page_view", dt.datetime(2026, 10, 24, 22, 30)),  # 25 Oct 00:30 CEST
        ("page_view", dt.datetime(2026, 10, 25, 22, 30)),  # 25 Oct 23:30 CET: the same 25-hour day
    )
    # With a fixed offset of either +2 or +1 hours the two would fall on different days.
    as_of = dt.datetime(2026, 10, 27)
    assert score(body, history, as_of, timezone="Europe/Paris")["ann"]["c_engagement_1"] == 10  # 1 day x 10
    assert score(body, history, as_of)["ann"]["c_engagement_1"] == 20  # UTC: 24 and 25 Oct, 2 days x 10
    next_day = History(events=(*history.events, Event("ann", "page_view", dt.datetime(2026, 10, 25, 23, 0))))
    assert score(body, next_day, as_of, timezone="Europe/Paris")["ann"]["c_engagement_1"] == 20  # 26 Oct 00:00 CET


def test_max_per_day_ages_a_day_from_its_last_event() -> None:
    body = """scoring:
  engagement:
    half_life_days: 1
    rules:
      - {event: page_view, points: 8, max_per_day: 2}
"""
    history = events(*[("page_view", ago(2, seconds=-60 * minute)) for minute in (1, 2, 3)])
    # Three events on one day, the last 2 days - 3 minutes old: 8 x min(3, 2) x 2^-(2 - 180/86400).
    expected = 16 * 0.5 ** (2 - 180 / 86_400)
    assert score(body, history)["ann"]["c_engagement_1"] == pytest.approx(expected, rel=1e-12)


def test_windows_exclude_their_far_edge_and_thresholds_count_inside() -> None:
    body = """scoring:
  engagement:
    rules:
      - {event: page_view, points: 15, at_least: 2, within_days: 1}
      - {event: email_clicked, points: 2, within_days: 1, decay: false}
"""
    history = events(
        ("page_view", ago(seconds=86_400)),  # exactly one day old: outside (as_of - 1 day, as_of]
        ("page_view", ago(seconds=86_399)),  # inside
        ("page_view", ago(seconds=-1)),  # after as-of: not yet
        ("email_clicked", ago(seconds=86_400)),
        ("email_clicked", ago(seconds=0)),  # at as-of: inside, 2 points
    )
    row = score(body, history)["ann"]
    assert row["c_engagement_1"] == 0  # one page view in the window, two needed
    assert row["c_engagement_2"] == 2
    one_more = History(events=(*history.events, Event("ann", "page_view", ago(seconds=5))))
    assert score(body, one_more)["ann"]["c_engagement_1"] == 15


def test_conditions_on_missing_values_case_and_numbers() -> None:
    body = """lists:
  people: [CTO, VP]
  empty: []
scoring:
  fit:
    - {when: "lead.role == 'cto'", points: 1}
    - {when: "lead.department != 'IT'", points: 2}
    - {when: "not lead.department == 'IT'", points: 4}
    - {when: "lead.department not in @empty", points: 8}
    - {when: "lead.role in [1, 2.5]", points: 16}
    - {when: "lead.role not in [1, 2.5]", points: 32}
    - {when: "lead.budget_estimate between 10 and 20", points: 64}
    - {when: "lead.role in @people and lead.budget_estimate is not null", points: 128}
"""
    cto = History(
        lead_traits=(
            TraitFact("ann", "role", "CTO", LEARNT),
            TraitFact("ann", "budget_estimate", " 20 ", LEARNT),
            TraitFact("bob", "role", "2.50", LEARNT),
        )
    )
    rows = score(body, cto)
    # ann: role matches 'cto' ignoring case (1); department is missing, so '!=' is false (0),
    # 'not ==' is true (4) and 'not in' is false (0); 'CTO' is no number, so both numeric
    # list tests are false (0, 0); 20 is between 10 and 20 (64); CTO is in @people (128).
    assert rows["ann"]["fit"] == 1 + 4 + 64 + 128
    # bob: '2.50' reads as the number 2.5 (16); budget missing (no 64, no 128).
    assert rows["bob"]["fit"] == 4 + 16


def test_event_properties_are_text_read_as_numbers_against_numbers() -> None:
    body = """scoring:
  engagement:
    rules:
      - {event: page_view, where: "properties.n > 2.5", points: 1, decay: false}
      - {event: page_view, where: "properties.n == '5'", points: 10, decay: false}
      - {event: page_view, where: "properties.path startswith '/PRICING'", points: 100, decay: false}
      - {event: page_view, where: "properties.n in [5, x]", points: 1000, decay: false}
"""
    history = events(
        ("page_view", ago(1), {"n": 5, "path": "/pricing/teams"}),  # 1 + 10 + 100 + 1000
        ("page_view", ago(1), {"n": "x"}),  # 'x' is no number: 0; but in the text list [5, x]: 1000
        ("page_view", ago(1), {"n": "3.0"}),  # 3 > 2.5: 1; '3.0' is not the text '5'
    )
    row = score(body, history)["ann"]
    assert [row[f"c_engagement_{index}"] for index in range(1, 5)] == [2, 10, 100, 2000]


def test_the_latest_fact_wins_ties_go_to_the_later_line_and_no_value_erases() -> None:
    body = """scoring:
  fit:
    - {when: "lead.role == 'CTO'", points: 1}
    - {when: "lead.department is null", points: 10}
    - {when: "account.employees >= 200", points: 100}
"""
    history = History(
        lead_traits=(
            TraitFact("ann", "role", "CEO", AS_OF),
            TraitFact("ann", "role", "CTO", AS_OF),  # same moment, later line: wins
            TraitFact("ann", "role", "VP", AS_OF + dt.timedelta(seconds=1)),  # not known yet
            TraitFact("ann", "department", "IT", LEARNT),
            TraitFact("ann", "department", None, ago(1)),  # a later fact without a value
        ),
        account_traits=(TraitFact("acme", "employees", "500", LEARNT),),
        links=(AccountLink("ann", "acme", LEARNT), AccountLink("ann", "globex", AS_OF + dt.timedelta(seconds=1))),
    )
    row = score(body, history)["ann"]
    assert row["account_id"] == "acme"  # the move to globex is learnt after as-of
    assert row["fit"] == 111


def test_product_signals_count_local_days_and_distinct_values() -> None:
    body = """scoring:
  product:
    window_days: 3
    signals:
      active_days: {count: distinct_days, events: [session_started]}
      features: {count: distinct_values, property: feature, events: [feature_used]}
      uses: {count: events, events: [feature_used], where: "properties.feature != 'api'"}
"""
    # Kolkata is UTC+5:30: its midnight of 20 Nov is 19 Nov 18:30 UTC.
    history = events(
        ("session_started", dt.datetime(2026, 11, 19, 18, 29, 59)),  # 19 Nov 23:59:59 in Kolkata
        ("session_started", dt.datetime(2026, 11, 19, 18, 30, 0)),  # 20 Nov 00:00:00 in Kolkata
        ("feature_used", ago(1), {"feature": "api"}),
        ("feature_used", ago(1), {"feature": "API"}),
        ("feature_used", ago(1), {"feature": "reports"}),
        ("feature_used", ago(1), {}),  # no value: not a distinct value
        ("feature_used", ago(3), {"feature": "old"}),  # exactly 3 days old: outside the window
    )
    kolkata = score(body, history, timezone="Asia/Kolkata")["ann"]
    assert kolkata["product_active_days"] == 2
    assert score(body, history)["ann"]["product_active_days"] == 1  # both on 19 Nov in UTC
    assert kolkata["product_features"] == 3  # api, API, reports: values are counted as written
    assert kolkata["product_uses"] == 1  # reports ('api' and 'API' equal 'api' ignoring case; missing fails)


def test_accounts_sum_the_best_contacts_and_count_engaged_roles() -> None:
    body = """scoring:
  engagement:
    rules:
      - {event: demo_requested, points: 10, decay: false}
accounts:
  fit:
    - {when: "account.employees >= 1000", points: 30}
  score: {contacts: {sum_top: 2, of: engagement}}
  buying_roles:
    boss: "lead.role == 'CEO'"
    user: "lead.role == 'Engineer'"
    money: "lead.department == 'Finance'"
  engaged_when: "engagement >= 10"
"""
    history = History(
        lead_traits=(
            TraitFact("ann", "role", "CEO", LEARNT),
            TraitFact("bob", "role", "Engineer", LEARNT),
            TraitFact("cid", "department", "Finance", LEARNT),
        ),
        account_traits=(TraitFact("acme", "employees", "5000", LEARNT),),
        links=(
            AccountLink("ann", "acme", LEARNT),
            AccountLink("bob", "acme", LEARNT),
            AccountLink("cid", "acme", LEARNT),
        ),
        events=tuple(
            Event(lead, "demo_requested", ago(1))
            for lead, times in (("ann", 4), ("bob", 1), ("cid", 2), ("dee", 1))
            for _ in range(times)
        ),
    )
    rows = score(body, history)
    # Engagement: ann 40, bob 10, cid 20. The best two: 40 + 20 = 60, plus the account fit 30.
    assert rows["bob"]["account_score"] == 90
    assert rows["bob"]["account_fit"] == 30
    assert rows["bob"]["account_coverage"] == 3  # CEO, Engineer and Finance each engaged (>= 10)
    assert rows["dee"]["account_score"] is None  # no account
    assert rows["dee"]["account_coverage"] is None


def test_stage_flags_windowed_clauses_and_shortcuts() -> None:
    body = """scoring:
  fit:
    - {when: "lead.role == 'CTO'", points: 20}
"""
    stages = (
        """stages:
  mql: {when: "fit >= 30"}
  pql: {when: "event feature_used where properties.feature == 'api' at least 2 times within 36 hours"}
  fast_track: {when: "event demo_requested within 1 hour and fit >= 20", goes_to: mql}
"""
        + SAL
    )
    text = f"name: t\nversion: 1\n{body}{stages}"
    history = History(
        lead_traits=(TraitFact("ann", "role", "CTO", LEARNT), TraitFact("bob", "role", "CTO", LEARNT)),
        events=(
            Event("ann", "demo_requested", ago(seconds=3_599)),  # inside the last hour
            Event("ann", "feature_used", ago(seconds=36 * 3_600), {"feature": "api"}),  # on the edge: out
            Event("ann", "feature_used", ago(seconds=60), {"feature": "API"}),
            Event("bob", "demo_requested", ago(seconds=3_600)),  # exactly an hour old: out
        ),
    )
    rows = score_slowly(history, parse_playbook(text, "t.yaml"), AS_OF)
    assert (rows["ann"]["q_mql"], rows["ann"]["q_pql"], rows["ann"]["q_fast_track"]) == (False, False, True)
    assert rows["ann"]["qualifies_as"] == "mql"
    assert rows["bob"]["qualifies_as"] == "inquiry"


def test_a_decayed_score_on_a_threshold_is_undecided() -> None:
    body = """scoring:
  engagement:
    half_life_days: 1
    rules:
      - {event: page_view, points: 20}
      - {event: demo_requested, points: 10, decay: false}
"""
    # 20 x 2^-1 = 10, but only up to rounding: which side of 10 it falls is not semantics.
    decayed = score(body, events(("page_view", ago(1))), mql="engagement >= 10")["ann"]
    assert decayed["engagement"] == pytest.approx(10)
    assert decayed["q_mql"] is UNDECIDED and decayed["qualifies_as"] is UNDECIDED
    # Undecayed points are exact: 10 >= 10 is decided.
    exact = score(body, events(("demo_requested", ago(1))), mql="engagement >= 10")["ann"]
    assert exact["q_mql"] is True and exact["qualifies_as"] == "mql"


def test_once_within_a_window_counts_the_earliest_event_inside_it() -> None:
    body = """scoring:
  engagement:
    rules:
      - {event: trial_started, points: 8, once: true, within_days: 2, half_life_days: 1}
"""
    # The first trial (3 days old) is outside the window; the earliest inside is 1 day old: 8 x 2^-1.
    history = events(("trial_started", ago(3)), ("trial_started", ago(1)), ("trial_started", ago(0.5)))
    assert score(body, history)["ann"]["c_engagement_1"] == pytest.approx(4)


def test_case_is_folded_the_same_way_for_every_alphabet() -> None:
    body = """scoring:
  fit:
    - {when: "lead.role == 'istanbul'", points: 1}
    - {when: "lead.role endswith 'ς'", points: 10}
    - {when: "lead.role in ['οδυσσευσ']", points: 100}
"""
    history = History(
        lead_traits=(TraitFact("ann", "role", "İSTANBUL", LEARNT), TraitFact("bob", "role", "ΟΔΥΣΣΕΥΣ", LEARNT))
    )
    rows = score(body, history)
    assert rows["ann"]["fit"] == 1  # İ reads as i
    assert rows["bob"]["fit"] == 110  # ΟΔΥΣΣΕΥΣ folds to οδυσσευσ: a final ς reads as σ
