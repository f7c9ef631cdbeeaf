"""The simulator: repeatable, importable, stitched, and realistic enough to measure against.

The realism checks look for effects a careless generator would not produce by accident:
conversion that follows the hidden propensity, keener reading of the pricing pages by the
leads that buy, quiet weekends and nights in each lead's own time zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from leadgate.errors import InputError
from leadgate.ingest.importer import ImportOptions, import_file
from leadgate.playbook.loader import parse_playbook
from leadgate.scoring.engine import score_leads
from leadgate.simulate import TRUTH_TABLE, SimulationSummary, simulate_into_store, write_simulation_files
from leadgate.store.base import Store
from leadgate.store.duckdb_store import DuckDBStore

END = dt.datetime(2026, 11, 26, 14, 30, 0)
SMALL = {"leads": 300, "days": 45, "seed": 11, "end": END}
FILES = ("events.jsonl", "leads.csv", "accounts.csv", "truth.csv")
PLAYBOOK = Path(__file__).parents[1] / "src" / "leadgate" / "templates" / "playbook.yaml"


def rows(store: Store, query: str) -> list[tuple]:
    return store._run(query)


def value(store: DuckDBStore, query: str) -> Any:
    return rows(store, query)[0][0]


def facts(store: DuckDBStore) -> dict[str, list[tuple]]:
    tables = ("events", "traits", "identities", "person_keys", TRUTH_TABLE)
    return {table: sorted(rows(store, f"SELECT * FROM {table}"), key=repr) for table in tables}


def lead_and_account_counts(store: DuckDBStore) -> tuple[int, int, int]:
    leads = value(store, "SELECT count(DISTINCT entity_id) FROM traits WHERE entity_type = 'lead'")
    accounts = value(store, "SELECT count(DISTINCT entity_id) FROM traits WHERE entity_type = 'account'")
    return leads, accounts, store.count("events")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DuckDBStore, SimulationSummary]]:
    """A demo-sized history (2,000 leads over 120 days), shared by the realism checks."""
    store = DuckDBStore(tmp_path_factory.mktemp("demo") / "leadgate.duckdb")
    summary = simulate_into_store(store, leads=2_000, days=120, seed=7, end=END)
    yield store, summary
    store.close()


# -- repeatable ------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_facts_and_another_seed_does_not(tmp_path: Path) -> None:
    stores = [DuckDBStore(tmp_path / f"{name}.duckdb") for name in ("first", "again", "other")]
    for store, seed in zip(stores, (11, 11, 12), strict=True):
        simulate_into_store(store, **(SMALL | {"seed": seed}))
    first, again, other = (facts(store) for store in stores)
    assert first == again
    assert first["events"] != other["events"]
    assert first[TRUTH_TABLE] != other[TRUTH_TABLE]


def test_the_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    write_simulation_files(tmp_path / "first", **SMALL)
    write_simulation_files(tmp_path / "again", **SMALL)
    write_simulation_files(tmp_path / "other", **(SMALL | {"seed": 12}))
    for name in FILES:
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    assert (tmp_path / "first" / "events.jsonl").read_bytes() != (tmp_path / "other" / "events.jsonl").read_bytes()


def test_simulating_twice_into_one_store_adds_nothing(store: DuckDBStore) -> None:
    simulate_into_store(store, **SMALL)
    before = facts(store)
    simulate_into_store(store, **SMALL)
    assert facts(store) == before


def test_impossible_sizes_are_refused(store: DuckDBStore) -> None:
    with pytest.raises(InputError, match="--leads"):
        simulate_into_store(store, leads=0, days=10, seed=1, end=END)
    with pytest.raises(InputError, match="--days"):
        simulate_into_store(store, leads=10, days=0, seed=1, end=END)


# -- files -----------------------------------------------------------------------------------


def test_files_import_cleanly_and_give_the_store_the_same_history(tmp_path: Path, store: DuckDBStore) -> None:
    summary = write_simulation_files(tmp_path / "files", **SMALL)
    header = (tmp_path / "files" / "leads.csv").read_text().splitlines()[0]
    assert header.startswith("lead_id,account_id,email,first_name,last_name,role,department,budget_estimate,")
    imported = DuckDBStore(tmp_path / "imported.duckdb")
    for kind, name in (("accounts", "accounts.csv"), ("leads", "leads.csv"), ("events", "events.jsonl")):
        report = import_file(imported, tmp_path / "files" / name, ImportOptions(kind=kind))
        assert report.rows_rejected == 0 and report.facts_added > 0, name
    simulate_into_store(store, **SMALL)

    assert lead_and_account_counts(imported) == lead_and_account_counts(store)
    assert lead_and_account_counts(store) == (summary.leads, summary.accounts, summary.events)
    columns = (
        "message_id, kind, event, user_id, anonymous_id, ts, received_at, path, utm_source, utm_campaign, properties"
    )
    events = f"SELECT {columns} FROM events ORDER BY message_id"
    assert rows(imported, events) == rows(store, events)
    known_traits = "SELECT DISTINCT entity_type, entity_id, name, value, learnt_at FROM traits WHERE value IS NOT NULL ORDER BY 1, 2, 3, 4, 5"
    assert rows(imported, known_traits) == rows(store, known_traits)
    imported.close()


def test_the_events_file_speaks_segment(tmp_path: Path) -> None:
    write_simulation_files(tmp_path, **SMALL)
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    assert any('"type":"track","event":"Demo Requested"' in line for line in lines)
    assert any('"type":"track","event":"email_clicked"' in line for line in lines)
    assert any(
        '"type":"page","properties":{"path":"/pricing"}' in line and '"context":{"campaign"' in line for line in lines
    )
    assert any(
        '"type":"identify"' in line and '"anonymousId"' in line and '"traits":{"email"' in line for line in lines
    )
    assert any('"type":"group"' in line and '"groupId":"acct-' in line for line in lines)


# -- identities ------------------------------------------------------------------------------


def test_anonymous_browsing_ends_up_on_the_lead(store: DuckDBStore) -> None:
    simulate_into_store(store, **SMALL)
    anonymous_then_named = """
        SELECT count(*), count(*) FILTER (WHERE e.lead_key = p.lead_key), count(*) FILTER (WHERE e.ts < i.learnt_at)
        FROM events e
        JOIN identities i ON i.kind = 'alias' AND i.from_id = e.anonymous_id
        JOIN person_keys p ON p.id_kind = 'user' AND p.id_value = i.to_id
        WHERE e.user_id IS NULL
    """
    anonymous_events, on_their_lead, before_the_form = rows(store, anonymous_then_named)[0]
    assert anonymous_events > 50
    assert on_their_lead == anonymous_events == before_the_form
    visitors_only = "SELECT count(DISTINCT lead_key) FROM events WHERE lead_key NOT IN (SELECT lead_key FROM person_keys WHERE id_kind = 'user')"
    assert value(store, visitors_only) > 0  # some visitors never leave their name


# -- realism ---------------------------------------------------------------------------------


def test_the_history_covers_the_window_and_no_more(demo: tuple[DuckDBStore, SimulationSummary]) -> None:
    store, summary = demo
    start = END - dt.timedelta(days=120)
    assert (summary.start, summary.end) == (start, END)
    first, last = rows(store, "SELECT min(ts), max(ts) FROM events")[0]
    assert start <= first < start + dt.timedelta(days=2)
    assert END - dt.timedelta(days=2) < last < END
    assert value(store, "SELECT count(*) FROM events WHERE ts <> date_trunc('second', ts)") == 0
    assert value(store, f"SELECT max(greatest(sql_at, outcome_at)) FROM {TRUTH_TABLE}") < END


def test_the_market_looks_like_a_b2b_market(demo: tuple[DuckDBStore, SimulationSummary]) -> None:
    store, summary = demo
    assert summary.leads == 2_000 and 2_000 / 8 <= summary.accounts < 2_000
    traits = dict(rows(store, "SELECT name, list(DISTINCT value) FROM traits GROUP BY name"))
    employees = [int(number) for number in traits["employees"]]
    assert min(employees) >= 5 and max(employees) <= 20_000 and np.median(employees) < 200 < max(employees)
    assert {"FR", "DE", "UK", "US", "BR", "IN"} <= set(traits["country"])
    assert {"Software", "Fintech", "Education"} <= set(traits["industry"])
    assert {"CEO", "CFO", "Engineer", "Student"} <= set(traits["role"]) and "Finance" in traits["department"]
    assert set(traits["owner"]) <= {"carla", "dev", "alice", "bruno", "farah", "gus", "hana"}
    assert {"project_planned", "none"} <= set(traits["need_maturity"])
    assert "gmail.com" in traits["email_domain"] or "outlook.com" in traits["email_domain"]
    contacts = rows(store, "SELECT count(DISTINCT from_id) FROM identities WHERE kind = 'account' GROUP BY to_id")
    assert max(count for (count,) in contacts) <= 8


def test_every_event_of_the_example_playbook_happens(demo: tuple[DuckDBStore, SimulationSummary]) -> None:
    _, summary = demo
    playbook_events = {
        "page_view", "whitepaper_downloaded", "webinar_registered", "webinar_attended", "email_opened",
        "email_clicked", "email_unsubscribed", "demo_requested", "contact_sales_form", "trial_started",
        "session_started", "feature_used", "teammate_invited", "plan_limit_reached",
    }  # fmt: skip
    assert playbook_events <= set(summary.events_by_name)
    assert all(summary.events_by_name[name] > 0 for name in playbook_events)


def test_conversion_follows_the_hidden_propensity(demo: tuple[DuckDBStore, SimulationSummary]) -> None:
    store, summary = demo
    outcomes = rows(store, f"SELECT propensity, converted FROM {TRUTH_TABLE}")
    propensity = np.array([row[0] for row in outcomes])
    converted = np.array([row[1] for row in outcomes])
    assert summary.converted_leads == converted.sum() > 20
    assert 0 < summary.converted_leads < summary.sql_leads < summary.leads / 4
    assert _rank_auc(propensity, converted) > 0.75


def test_converted_leads_read_the_pricing_pages_more(demo: tuple[DuckDBStore, SimulationSummary]) -> None:
    store, _ = demo
    pricing_visits = f"""
        SELECT t.converted, avg(coalesce(v.visits, 0))
        FROM {TRUTH_TABLE} t LEFT JOIN (
            SELECT p.id_value AS lead_id, count(*) AS visits FROM events e
            JOIN person_keys p ON p.lead_key = e.lead_key AND p.id_kind = 'user'
            WHERE e.path LIKE '/pricing%' GROUP BY 1
        ) v USING (lead_id)
        GROUP BY 1
    """
    average = dict(rows(store, pricing_visits))
    assert average[True] > 3 * average[False]


def test_weekdays_are_busier_than_weekends(demo: tuple[DuckDBStore, SimulationSummary]) -> None:
    store, _ = demo
    per_day = dict(rows(store, "SELECT isodow(ts) > 5, count(*) / count(DISTINCT ts::DATE) FROM events GROUP BY 1"))
    assert per_day[False] > 2 * per_day[True]


def test_people_act_in_office_hours_of_their_own_time_zone(demo: tuple[DuckDBStore, SimulationSummary]) -> None:
    store, _ = demo
    busiest_utc_hour = {}
    for country, zone in (("FR", ZoneInfo("Europe/Paris")), ("US", ZoneInfo("America/New_York"))):
        moments = rows(
            store,
            f"""SELECT e.ts FROM events e
                JOIN identities i ON i.kind = 'account' AND i.entity_key = e.lead_key
                JOIN traits a ON a.entity_type = 'account' AND a.entity_id = i.to_id AND a.name = 'country'
                WHERE a.value = '{country}' AND e.event NOT LIKE 'email%'""",
        )
        hours = np.bincount([ts.replace(tzinfo=dt.UTC).astimezone(zone).hour for (ts,) in moments], minlength=24)
        assert 9 <= int(np.argmax(hours)) <= 17, (country, hours)
        assert hours[9:18].sum() > 0.6 * hours.sum()
        assert hours[0:6].sum() < 0.05 * hours.sum()
        busiest_utc_hour[country] = int(np.argmax(np.bincount([ts.hour for (ts,) in moments], minlength=24)))
    assert busiest_utc_hour["US"] - busiest_utc_hour["FR"] >= 4  # New York works later in UTC than Paris


def test_the_example_playbook_scores_track_outcomes_imperfectly(demo: tuple[DuckDBStore, SimulationSummary]) -> None:
    store, _ = demo
    playbook = parse_playbook(PLAYBOOK.read_text(), str(PLAYBOOK))
    store.replace_table("simulated_scores", score_leads(store.facts(), playbook, END))
    correlation = value(
        store,
        f"SELECT corr(s.score, t.propensity) FROM simulated_scores s JOIN {TRUTH_TABLE} t USING (lead_id)",
    )
    assert 0.3 < correlation < 0.95
    won, lost_or_open = (
        value(store, f"SELECT avg(s.score) FROM simulated_scores s JOIN {TRUTH_TABLE} t USING (lead_id) WHERE {where}")
        for where in ("t.converted", "NOT t.converted")
    )
    assert won > 2 * lost_or_open


def _rank_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """The chance that a random positive outranks a random negative (Mann-Whitney)."""
    ranks = np.argsort(np.argsort(scores)) + 1
    positives = int(positive.sum())
    negatives = len(scores) - positives
    return float((ranks[positive].sum() - positives * (positives + 1) / 2) / (positives * negatives))
