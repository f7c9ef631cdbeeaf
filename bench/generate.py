"""Synthetic facts for the benchmark, generated inside DuckDB.

Every value is drawn from ``hash(row number, seed, purpose)``, so the same size and seed
give the same rows on every run and machine (for one DuckDB version). Events arrive in time
order (as a live store receives them) and are spread over the year before :data:`AS_OF`,
with whole seconds. Their leads follow a skewed law (a few very active leads, a long tail),
shuffled over the lead keys so that activity does not follow key order. Message ids start
with a random part, like real ones (UUIDs), so that no min/max index can skip a range of them.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass

import duckdb

AS_OF = dt.datetime(2026, 12, 1)
GENERATOR_VERSION = 2
YEAR_SECONDS = 365 * 86_400
HASH_RANGE = "18446744073709551616.0"  # 2^64: hash() / HASH_RANGE is uniform in [0, 1)


@dataclass(frozen=True)
class DatasetSize:
    """How much to generate; two datasets with equal sizes hold the same rows."""

    events: int
    leads: int
    accounts: int
    seed: int = 42
    generator: int = GENERATOR_VERSION

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def generate(con: duckdb.DuckDBPyConnection, size: DatasetSize) -> dict[str, int]:
    """Fill an empty store (tables created by ``DuckDBStore``) with batch 1; returns row counts."""
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    statements = {
        "person_keys": person_keys_sql(size),
        "traits": lead_traits_sql(size),
        "account traits": account_traits_sql(size),
        "identities": identities_sql(size),
        "events": events_sql(size),
    }
    con.execute("BEGIN TRANSACTION")
    for statement in statements.values():
        con.execute(statement)
    counts = {table: _count(con, table) for table in ("person_keys", "traits", "identities", "events")}
    facts = counts["traits"] + counts["identities"] + counts["events"]
    finished = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con.execute(
        "INSERT INTO imports VALUES (1, 'bench', 'bench/generate.py', ?, ?, ?, ?)", [started, finished, facts, facts]
    )
    con.execute("COMMIT")
    con.execute("CHECKPOINT")
    return counts


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def shuffle_stride(leads: int) -> int:
    """A multiplier coprime with ``leads``: ``rank * stride % leads`` visits every key once.

    Near ``leads`` times the golden ratio, so that neighbouring ranks land far apart.
    """
    stride = int(leads * 0.618034) | 1
    while math.gcd(stride, leads) != 1:
        stride += 2
    return stride


def draw(row: str, seed: int, purpose: str, modulo: int) -> str:
    """SQL for a deterministic integer in ``[0, modulo)`` for one row and one purpose."""
    return f"(hash({row}, {seed}, '{purpose}') % {modulo})::BIGINT"


def pick(choices: list[str], row: str, seed: int, purpose: str) -> str:
    """SQL for one of ``choices``, drawn deterministically."""
    items = ", ".join(f"'{choice}'" for choice in choices)
    return f"[{items}][1 + {draw(row, seed, purpose, len(choices))}]"


def moment(seconds_before_as_of: str) -> str:
    """SQL for the timestamp that many whole seconds before :data:`AS_OF`."""
    return f"(TIMESTAMP '{AS_OF.isoformat(sep=' ')}' - to_seconds(({seconds_before_as_of})::BIGINT))"


def person_keys_sql(size: DatasetSize) -> str:
    """One user id per lead (``u<key>``), never merged: ``first_key = lead_key``."""
    return f"""
    INSERT INTO person_keys
    SELECT 'user', 'u' || k, k, k FROM range(1, {size.leads + 1}) AS r(k)
    """


ROLES = [
    *("CEO", "CTO", "CFO", "VP", "Director", "Head", "cto"),
    *("Manager", "Lead", "Architect", "Engineer", "Analyst", "Developer", "Consultant"),
    *("Engineer", "Developer", "Marketing Manager", "Student", "Intern"),
]
FREEMAIL = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "orange.fr", "free.fr"]
MATURITY = ["exploring", "evaluating", "project_planned", "none", "Project_Planned"]
COUNTRIES = ["FR", "BE", "CH", "DE", "UK", "US", "ES", "IT", "BR", "IN", "fr", "us"]
INDUSTRIES = [
    *("Software", "Fintech", "Insurance", "Retail", "Manufacturing"),
    *("Healthcare", "Education", "Media", "Logistics", "software"),
]


def lead_traits_sql(size: DatasetSize) -> str:
    """Five traits per lead (budget missing or unreadable for some), a later role change for
    one lead in ten, and one in a hundred learnt after the as-of time (to be ignored)."""
    seed = size.seed
    known = moment(f"400 * 86400 - {draw('k', seed, 'learnt', 30 * 86400)}")
    email_domain = (
        f"CASE WHEN {draw('k', seed, 'freemail', 100)} < 30 THEN {pick(FREEMAIL, 'k', seed, 'freemail_domain')} "
        f"ELSE 'corp' || {draw('k', seed, 'domain', 50_000)} || '.com' END"
    )
    budget = (
        f"CASE WHEN {draw('k', seed, 'budget_known', 100)} < 2 THEN 'unknown' "
        f"ELSE ({draw('k', seed, 'budget', 40)} * 1000)::VARCHAR END"
    )
    initial = {
        "role": (pick(ROLES, "k", seed, "role"), "true"),
        "email_domain": (email_domain, "true"),
        "budget_estimate": (budget, f"{draw('k', seed, 'budget_present', 10)} < 9"),
        "need_maturity": (pick(MATURITY, "k", seed, "maturity"), "true"),
        "country": (pick(COUNTRIES, "k", seed, "country"), f"{draw('k', seed, 'country_present', 20)} > 0"),
    }
    parts = [
        _lead_trait_select(size, name, value, known, present, index)
        for index, (name, (value, present)) in enumerate(initial.items())
    ]
    changed = moment(f"1 + {draw('k', seed, 'role_change_at', YEAR_SECONDS)}")
    parts.append(
        _lead_trait_select(
            size, "role", pick(ROLES, "k", seed, "new_role"), changed, f"{draw('k', seed, 'role_change', 10)} = 0", 8
        )
    )
    future = f"(TIMESTAMP '{AS_OF.isoformat(sep=' ')}' + INTERVAL 3 DAY)"
    parts.append(_lead_trait_select(size, "role", "'Student'", future, f"{draw('k', seed, 'role_future', 100)} = 0", 9))
    return "INSERT INTO traits\n" + "\nUNION ALL\n".join(parts)


def _lead_trait_select(size: DatasetSize, name: str, value: str, learnt_at: str, present: str, index: int) -> str:
    return f"""
    SELECT 'tl{index}-' || k, 1, 'lead', 'u' || k, k, '{name}', {value}, {learnt_at}, k * 16 + {index}
    FROM range(1, {size.leads + 1}) AS r(k) WHERE {present}"""


def account_traits_sql(size: DatasetSize) -> str:
    """Employees (skewed: most companies are small), industry, country and name of each account."""
    seed = size.seed
    known = moment(f"420 * 86400 - {draw('a', seed, 'learnt', 30 * 86400)}")
    uniform = f"(hash(a, {seed}, 'employees') / {HASH_RANGE})"
    values = {
        "employees": f"(floor(5000 * pow({uniform}, 3))::BIGINT + 1)::VARCHAR",
        "industry": pick(INDUSTRIES, "a", seed, "industry"),
        "country": pick(COUNTRIES, "a", seed, "country"),
        "name": "'Account ' || a",
    }
    parts = [
        f"""
    SELECT 'ta{index}-' || a, 1, 'account', 'a' || a, NULL, '{name}', {value}, {known}, a * 16 + {index}
    FROM range(1, {size.accounts + 1}) AS r(a)"""
        for index, (name, value) in enumerate(values.items())
    ]
    return "INSERT INTO traits\n" + "\nUNION ALL\n".join(parts)


def identities_sql(size: DatasetSize) -> str:
    """Most leads belong to an account; one in fifty moved to another account during the year."""
    seed = size.seed
    joined = moment(f"400 * 86400 - {draw('k', seed, 'joined', 30 * 86400)}")
    moved = moment(f"1 + {draw('k', seed, 'moved_at', YEAR_SECONDS)}")
    account = f"'a' || (1 + {draw('k', seed, 'account', size.accounts)})"
    other = f"'a' || (1 + {draw('k', seed, 'other_account', size.accounts)})"
    return f"""
    INSERT INTO identities
    SELECT 'ia-' || k, 1, 'account', 'u' || k, {account}, k, {joined}, k * 2
    FROM range(1, {size.leads + 1}) AS r(k) WHERE {draw("k", seed, "has_account", 100)} < 85
    UNION ALL
    SELECT 'ib-' || k, 1, 'account', 'u' || k, {other}, k, {moved}, k * 2 + 1
    FROM range(1, {size.leads + 1}) AS r(k) WHERE {draw("k", seed, "moves", 50)} = 0
    """


EVENT_MIX = [  # (event, cumulative share in thousandths)
    ("page_view", 550),
    ("email_opened", 700),
    ("email_clicked", 780),
    ("whitepaper_downloaded", 810),
    ("webinar_registered", 830),
    ("webinar_attended", 845),
    ("demo_requested", 850),
    ("trial_started", 855),
    ("email_unsubscribed", 858),
    ("feature_used", 1000),
]
PAGES = [  # (path expression, cumulative share in thousandths of page views)
    ("'/pricing'", 60),
    ("'/pricing/teams'", 80),
    ("'/Pricing'", 85),
    ("'/careers/job-' || (page % 7)", 110),
    ("'/product/' || ['analytics', 'reports', 'api', 'integrations'][1 + page % 4]", 300),
    ("'/blog/post-' || (page % 97)", 700),
    ("'/docs/page-' || (page % 53)", 1000),
]
TOPICS = ["analytics", "security", "pricing", "Analytics", "compliance"]
FEATURES = ["reports", "integrations", "api", "dashboards", "alerts"]


def events_sql(size: DatasetSize) -> str:
    """The events, in time order: row ``i`` happens at ``i / events`` of the year, plus jitter."""
    seed, leads = size.seed, size.leads
    uniform = f"(hash(i, {seed}, 'lead') / {HASH_RANGE})"
    rank = f"floor({leads} * pow({uniform}, 1.6))::BIGINT"
    event = "CASE " + " ".join(f"WHEN mix < {share} THEN '{name}'" for name, share in EVENT_MIX) + " END"
    path = "CASE " + " ".join(f"WHEN page < {share} THEN {value}" for value, share in PAGES) + " END"
    topic = pick(TOPICS, "i", seed, "topic")
    feature = pick(FEATURES, "i", seed, "feature")
    properties = f"""CASE event
        WHEN 'whitepaper_downloaded' THEN '{{"topic": "' || {topic} || '"}}'
        WHEN 'feature_used' THEN '{{"feature": "' || {feature} || '"}}' END"""
    spread = (
        f"{YEAR_SECONDS - 3600} - (i * {YEAR_SECONDS - 3600}) // {size.events} + 1 + {draw('i', seed, 'jitter', 3599)}"
    )
    return f"""
    INSERT INTO events
    WITH drawn AS (
        SELECT i, 1 + ({rank} * {shuffle_stride(leads)}) % {leads} AS lead_key,
               {draw("i", seed, "event", 1000)} AS mix, {draw("i", seed, "page", 1000)} AS page,
               {moment(spread)} AS ts
        FROM range({size.events}) AS r(i)
    ),
    named AS (SELECT *, {event} AS event FROM drawn)
    SELECT 'm' || hash(i, {seed}, 'message') || '-' || i, 1, lead_key, CASE WHEN event = 'page_view' THEN 'page' ELSE 'track' END, event,
           'u' || lead_key, NULL, ts, ts, CASE WHEN event = 'page_view' THEN {path} END,
           NULL, NULL, NULL, {properties}
    FROM named
    """
