"""The server's commits of new facts on DuckDB store exactly what an import batch stores.

The intake's groups of new facts go straight in (``leadgate.store.duckdb_direct``); any other
group (an id that may be stored already, an id twice, an alias) is staged as an import batch.
The first test sends the same requests to a store that takes the direct way when it can and to
one that always stages, and compares every fact table, ``person_keys`` and ``imports`` row by
row; the others check that a failed direct commit stores nothing and that the server's intake
takes the direct way.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest

from leadgate.api.ingest import message_fact_rows
from leadgate.ingest.staging import staged_tables
from leadgate.service.intake import Intake
from leadgate.store import duckdb_direct
from leadgate.store.duckdb_store import DuckDBStore

RECEIVED = dt.datetime(2026, 11, 20, 10)
TABLES = {
    "events": "message_id",
    "traits": "fact_id",
    "identities": "fact_id",
    "person_keys": "id_kind, id_value",
    "imports": "batch_id",
}


def random_messages(rng: random.Random, count: int, prefix: str, aliases: bool) -> list[dict[str, Any]]:
    """Segment messages of a few people: visits with and without a user id, identifies,
    groups, and (with ``aliases``) an alias now and then."""
    messages: list[dict[str, Any]] = []
    for number in range(count):
        person, visitor = rng.randrange(40), rng.randrange(60)
        ids: dict[str, Any] = {"userId": f"u{person}"} if rng.random() < 0.6 else {"anonymousId": f"v{visitor}"}
        base = {"messageId": f"{prefix}-{number}", "timestamp": f"2026-11-{rng.randint(1, 19):02d}T09:00:00Z"}
        draw = rng.random()
        if draw < 0.5:
            messages.append({**base, **ids, "type": "page", "properties": {"path": rng.choice(["/", "/pricing"])}})
        elif draw < 0.7:
            messages.append({**base, **ids, "type": "track", "event": rng.choice(["Demo Requested", "Email Clicked"])})
        elif draw < 0.85:
            role = rng.choice(["CTO", "Student", "VP"])
            messages.append({**base, "userId": f"u{person}", "type": "identify", "traits": {"role": role}})
        elif draw < 0.95 or not aliases:
            traits = {"employees": rng.choice([20, 300, 5000]), "industry": "Software"}
            messages.append(
                {**base, "userId": f"u{person}", "type": "group", "groupId": f"a{person % 7}", "traits": traits}
            )
        else:
            messages.append({**base, "type": "alias", "previousId": f"v{visitor}", "userId": f"u{person}"})
    return messages


def commit(store: DuckDBStore, messages: list[dict[str, Any]], first: int) -> tuple[int, int, int, int]:
    rows = message_fact_rows(messages, None, None, RECEIVED)
    result = store.commit_tables(staged_tables(rows, first), "http", "HTTP API", len(messages), RECEIVED)
    return result.events_added, result.traits_added, result.identities_added, result.aliases_applied


def contents(store: DuckDBStore, table: str) -> list[tuple[Any, ...]]:
    """A table's rows in a fixed order (an import's end: when it happened to finish)."""
    columns = "* EXCLUDE (finished_at)" if table == "imports" else "*"
    return [tuple(row.values()) for row in store.query_rows(f"SELECT {columns} FROM {table} ORDER BY {TABLES[table]}")]


@pytest.fixture
def stores(tmp_path: Path) -> Any:
    direct, staged = DuckDBStore(tmp_path / "direct.duckdb"), DuckDBStore(tmp_path / "staged.duckdb")
    direct.remember_fact_ids()  # as the server's intake does; the other store never knows its ids
    yield direct, staged
    direct.close()
    staged.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_direct_way_stores_what_an_import_batch_stores(stores: Any, seed: int, monkeypatch: Any) -> None:
    direct, staged = stores
    taken: list[int] = []  # the batch of each commit that went the direct way
    insert_new_facts = duckdb_direct.insert_new_facts

    def counted(*args: Any) -> Any:
        result = insert_new_facts(*args)
        taken.append(result.batch_id)
        return result

    monkeypatch.setattr(duckdb_direct, "insert_new_facts", counted)
    rng = random.Random(seed)
    sent: list[list[dict[str, Any]]] = []
    position = 1
    for request in range(30):
        if sent and rng.random() < 0.15:
            messages = rng.choice(sent)  # a client's retry: every id stored already
        else:
            messages = random_messages(rng, rng.randint(1, 25), f"r{request}", aliases=rng.random() < 0.3)
            if rng.random() < 0.1:
                messages = messages + messages[:1]  # one id twice in a request: the first copy wins
        sent.append(messages)
        assert commit(direct, messages, position) == commit(staged, messages, position), request
        position += len(messages)
    for table in TABLES:
        assert contents(direct, table) == contents(staged, table), table
    # both ways were taken: the staged one for every case the direct one declines
    assert 0 < len(taken) < direct.count("imports")
    assert direct.count("events") > 100 and direct.count("person_keys") > 50


def test_a_commit_that_fails_on_the_direct_way_stores_nothing(stores: Any, monkeypatch: Any) -> None:
    direct, _ = stores
    first = random_messages(random.Random(5), 20, "first", aliases=False)
    commit(direct, first, 1)
    before = {table: contents(direct, table) for table in TABLES}

    def broken(*args: Any) -> int:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(duckdb_direct, "_insert", broken)
    with pytest.raises(RuntimeError, match="disk is full"):
        commit(direct, random_messages(random.Random(6), 20, "second", aliases=False), 21)
    assert {table: contents(direct, table) for table in TABLES} == before


def test_the_server_s_intake_takes_the_direct_way_for_new_messages_and_stages_a_retry(
    tmp_path: Path, monkeypatch: Any
) -> None:
    store = DuckDBStore(tmp_path / "leadgate.duckdb")
    ways: list[str] = []
    insert_new_facts, stage = duckdb_direct.insert_new_facts, DuckDBStore._append_to_stage
    monkeypatch.setattr(duckdb_direct, "insert_new_facts", lambda *a: ways.append("direct") or insert_new_facts(*a))
    monkeypatch.setattr(DuckDBStore, "_append_to_stage", lambda *a: ways.append("staged") or stage(*a))
    messages = random_messages(random.Random(9), 30, "m", aliases=False)
    intake = Intake(store)
    intake.start()  # it remembers the stored ids' hashes, as in the server
    try:
        for _ in range(2):  # the second time, a client's retry of the same messages
            rows = message_fact_rows(messages, None, None, RECEIVED)
            intake.submit(intake.tables_of(rows), len(messages)).result(timeout=30)
    finally:
        intake.stop()
        store.close()
    assert ways[0] == "direct" and set(ways[1:]) == {"staged"}, ways
