"""Routing and SLA deadlines, pure: who gets a lead, and by when they must decide."""

from __future__ import annotations

import datetime as dt

import pytest

from leadgate.playbook.loader import parse_playbook
from leadgate.routing.assign import Absence, RoutingState, route
from leadgate.routing.business_time import add_business_minutes, business_minutes_between
from leadgate.routing.sla import calendar_of, deadline
from leadgate.workspace import example_playbook_text

MODEL = parse_playbook(example_playbook_text(), "playbook.yaml").model
DAY = dt.date(2026, 11, 26)
# The example's routing: 0 account owner (if any), 1 enterprise (>= 1000 employees, round robin),
# 2 emea_fr (FR/BE/CH, weighted alice 2 : bruno 1), 3 smb (least loaded, at most 40 open).
ENTERPRISE, FRENCH, OTHER = [False, True, False, True], [False, False, True, True], [False, False, False, True]


def test_the_account_owner_comes_first() -> None:
    chosen = route(MODEL, [True, True, True, True], "carla", RoutingState(), DAY)
    assert (chosen.owner, chosen.method, chosen.rule_index) == ("carla", "account_owner", 0)


def test_an_absent_account_owner_passes_to_the_next_rule() -> None:
    state = RoutingState(absences=[Absence("carla", DAY, DAY)])
    chosen = route(MODEL, [True, True, False, True], "carla", state, DAY)
    assert (chosen.team, chosen.method) == ("enterprise", "round_robin")


def test_round_robin_rotates_in_the_listed_order_and_resumes_from_the_facts() -> None:
    state = RoutingState()
    owners = []
    for _ in range(5):
        chosen = route(MODEL, ENTERPRISE, None, state, DAY)
        owners.append(chosen.owner)
        state = state.after(chosen)
    assert owners == ["carla", "dev", "carla", "dev", "carla"]
    restarted = RoutingState(last_assigned={"enterprise": "carla"})  # what the assignment facts say after a restart
    assert route(MODEL, ENTERPRISE, None, restarted, DAY).owner == "dev"


def test_weighted_gives_two_to_one() -> None:
    state = RoutingState()
    owners = []
    for _ in range(6):
        chosen = route(MODEL, FRENCH, None, state, DAY)
        owners.append(chosen.owner)
        state = state.after(chosen)
    assert owners == ["alice", "bruno", "alice", "alice", "bruno", "alice"]
    assert owners.count("alice") == 2 * owners.count("bruno")


def test_least_loaded_respects_the_maximum_and_absences() -> None:
    state = RoutingState(open_leads={"farah": 3, "gus": 1, "hana": 1})
    assert route(MODEL, OTHER, None, state, DAY).owner == "gus"  # tie with hana: the first listed
    state = RoutingState(open_leads={"farah": 3, "gus": 40, "hana": 1}, absences=[Absence("hana", DAY, DAY)])
    assert route(MODEL, OTHER, None, state, DAY).owner == "farah"  # gus is full, hana away


def test_no_eligible_rep_goes_to_the_managers_queue() -> None:
    state = RoutingState(open_leads={"farah": 40, "gus": 40, "hana": 40})
    chosen = route(MODEL, OTHER, None, state, DAY)
    assert (chosen.owner, chosen.method) == ("ines", "manager_queue")
    away = RoutingState(absences=[Absence(rep, DAY, DAY) for rep in ("carla", "dev")])
    assert route(MODEL, ENTERPRISE, None, away, DAY).owner == "erin"


def paris(text: str) -> dt.datetime:
    """A Paris wall-clock time as naive UTC."""
    from zoneinfo import ZoneInfo

    local = dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/Paris"))
    return local.astimezone(dt.UTC).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("assigned", "due"),
    [
        # Friday 17:00, 4 business hours: 1 h on Friday, 3 h on Monday morning.
        ("2026-11-27T17:00", "2026-11-30T12:00"),
        # Before opening on a Monday: the clock starts at 09:00.
        ("2026-11-30T07:00", "2026-11-30T13:00"),
        # Thursday 24 December 16:00: 2 h that day; the 25th is a holiday, then the weekend.
        ("2026-12-24T16:00", "2026-12-28T11:00"),
        # Across the change to summer time (Sunday 28 March 2027): still 12:00 in Paris.
        ("2027-03-26T17:00", "2027-03-29T12:00"),
        # After closing: the clock starts the next working morning.
        ("2026-11-26T19:30", "2026-11-27T13:00"),
    ],
)
def test_sla_deadlines_count_business_hours_in_the_playbooks_zone(assigned: str, due: str) -> None:
    assert deadline(MODEL, paris(assigned)) == paris(due)


def test_business_minutes_between_two_moments() -> None:
    calendar = calendar_of(MODEL)
    assert business_minutes_between(calendar, paris("2026-11-27T17:00"), paris("2026-11-30T10:00")) == 120
    assert business_minutes_between(calendar, paris("2026-11-30T10:00"), paris("2026-11-27T17:00")) == -120
    assert add_business_minutes(calendar, paris("2026-11-27T17:00"), 0) == paris("2026-11-27T17:00")


def test_a_business_day_is_one_working_day_of_hours() -> None:
    one_day = parse_playbook(example_playbook_text().replace('"4 business hours"', '"1 business day"'), "p.yaml")
    # Monday 10:00 Paris + 9 working hours (09:00-18:00): Tuesday 10:00 Paris, not Wednesday.
    assert deadline(one_day.model, paris("2026-11-23T10:00")) == paris("2026-11-24T10:00")
    assert calendar_of(MODEL).minutes_per_day == 9 * 60


def test_a_reassigned_lead_leaves_its_previous_owner_s_load() -> None:
    state = RoutingState(open_leads={"farah": 3, "gus": 3, "hana": 3})
    moved = route(MODEL, OTHER, None, RoutingState(state.open_leads, unavailable=frozenset({"farah"})), DAY)
    assert moved.owner == "gus"  # least loaded among the others, first listed
    after = state.after(moved, taken_from="farah")
    assert after.open_leads == {"farah": 2, "gus": 4, "hana": 3}
