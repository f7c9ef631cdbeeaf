"""What the PostgreSQL store adds: parameters in psycopg's words, schema upgrades with
``leadgate db``, several server processes sharing one database, imports from two connections,
and exports that read alike from either engine."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx
import ibis
import psycopg
import pyarrow as pa
import pyarrow.parquet
import pytest

from leadgate.errors import StoreError
from leadgate.ingest.rows import EventRow, TraitRow
from leadgate.ingest.staging import buffer_rows, empty_buffers, stage_buffers
from leadgate.scoring.events import decay_factor
from leadgate.service.keys import create_key
from leadgate.service.scoring import utc_now
from leadgate.store import sql_postgres
from leadgate.store.postgres_store import PostgresStore, psycopg_query, shown_url
from leadgate.workspace import init_workspace
from tests import test_cli
from tests.cli_runs import run
from tests.postgres_server import PostgresServer
from tests.service_fixtures import free_port, wait_until
from tests.worlds import World


def test_marks_become_psycopg_s_and_quoted_text_is_left_alone() -> None:
    assert psycopg_query("SELECT ? WHERE a = $lead_key AND b LIKE 'x%?' AND \"c?\" = ?", [1, 2]) == (
        "SELECT %s WHERE a = %(lead_key)s AND b LIKE 'x%%?' AND \"c?\" = %s"
    )
    assert psycopg_query("SELECT 5 % 2", []) == "SELECT 5 %% 2"
    assert psycopg_query("SELECT $1 FROM t WHERE x = $$a$$", {}) == "SELECT $1 FROM t WHERE x = $$a$$"
    assert psycopg_query("SELECT '%'", None) == "SELECT '%'"  # no parameters: sent as written


def test_a_password_never_shows_in_messages() -> None:
    assert shown_url("postgresql://lead:secret@db:5432/leads") == "postgresql://lead:***@db:5432/leads"
    with pytest.raises(StoreError) as refused:
        PostgresStore("postgresql://lead:secret@127.0.0.1:1/leads")
    assert "secret" not in str(refused.value) and "cannot open the database" in str(refused.value)


def test_settings_show_a_database_url_without_its_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init_workspace(tmp_path / "ws").close()
    monkeypatch.setenv("LEADGATE_DATABASE", "postgresql://lead:secret@db.internal/leads")
    status, out, _ = run(capsys, "-w", str(tmp_path / "ws"), "settings", "--json")
    database = next(item for item in json.loads(out) if item["name"] == "database")
    assert status == 0 and database["value"] == "postgresql://lead:***@db.internal/leads"
    assert database["source"] == "environment"


def test_db_upgrade_creates_the_tables_then_has_nothing_to_do(
    postgres_server: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = postgres_server.new_database(empty=True)
    init_workspace(tmp_path / "ws").close()
    workspace = ("-w", str(tmp_path / "ws"))
    status, out, _ = run(capsys, *workspace, "db", "status", "--database", url)
    assert status == 0 and "holds no leadgate tables yet" in out
    status, out, _ = run(capsys, *workspace, "db", "upgrade", "--database", url)
    assert status == 0 and "upgraded to schema 3" in out and "created table events" in out
    assert "created index events_message_id" in out
    status, out, _ = run(capsys, *workspace, "db", "upgrade", "--database", url)
    assert status == 0 and "nothing to do" in out
    status, out, _ = run(capsys, *workspace, "db", "status", "--database", url)
    assert status == 0 and "is at schema 3, up to date" in out


def test_schema_2_gains_the_web_apps_users_and_sessions(
    postgres_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        con.execute("DROP TABLE users")
        con.execute("DROP TABLE web_sessions")
    init_workspace(tmp_path / "ws").close()
    status, out, _ = run(capsys, "-w", str(tmp_path / "ws"), "db", "upgrade", "--database", postgres_url)
    assert status == 0, out
    assert "created table users" in out and "created table web_sessions" in out and "schema version 2 -> 3" in out
    assert "dropped" not in out  # nothing derived changed shape between 2 and 3


def test_an_older_schema_is_upgraded_and_its_lead_states_rebuilt(
    postgres_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        con.execute("ALTER TABLE lead_state RENAME COLUMN breaches TO breached")
        con.execute("CREATE TABLE lead_scores (lead_key BIGINT)")
    init_workspace(tmp_path / "ws").close()
    status, out, _ = run(capsys, "-w", str(tmp_path / "ws"), "db", "status", "--database", postgres_url)
    assert "is at schema 1, this leadgate uses 3" in out
    status, out, _ = run(capsys, "-w", str(tmp_path / "ws"), "db", "upgrade", "--database", postgres_url)
    assert status == 0
    assert "dropped lead_scores" in out and "dropped lead_state" in out and "schema version 1 -> 3" in out
    store = PostgresStore(postgres_url)
    assert "breaches" in store.columns_of("lead_state") and not store.has_table("lead_scores")
    store.close()


def _batch(store: PostgresStore, rows: list[EventRow | TraitRow]) -> None:
    buffers = empty_buffers()
    buffer_rows(buffers, rows, 1)
    store.begin_batch()
    stage_buffers(store, buffers)
    store.commit_batch("test", "test", len(rows), utc_now())


def test_two_connections_importing_at_once_number_leads_and_batches_once(postgres_url: str) -> None:
    """Two server processes commit their batches at the same moment: lead keys and batch ids
    are numbered from the current maximum, so the commits must take turns."""
    stores = [PostgresStore(postgres_url) for _ in range(2)]
    at = dt.datetime(2026, 11, 20, 10, 0)
    errors: list[BaseException] = []

    def send(index: int) -> None:
        try:
            for round_ in range(10):
                rows: list[EventRow | TraitRow] = [
                    EventRow(
                        f"m-{index}-{round_}-{n}",
                        "track",
                        "page_view",
                        f"u-{index}-{n}",
                        None,
                        at,
                        at,
                        None,
                        None,
                        None,
                        None,
                        None,
                    )
                    for n in range(20)
                ]
                _batch(stores[index], rows)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = stores[0]
    assert store._run("SELECT count(*), count(DISTINCT batch_id) FROM imports") == [(20, 20)]
    assert store._run("SELECT count(*), count(DISTINCT lead_key), max(lead_key) FROM person_keys") == [(40, 40, 40)]
    assert store.count("events") == 400
    for opened in stores:
        opened.close()


def _serve(root: Path, url: str, port: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", "from leadgate.cli import main; main()", "-w", str(root), "serve"]
    options = ["--database", url, "--workers", "4", "--port", str(port), "--cycle-every", "2", "--log-level", "warning"]
    environment = {name: value for name, value in os.environ.items() if not name.startswith("LEADGATE_")}
    return subprocess.Popen(command + options, env=environment, text=True, stderr=subprocess.PIPE)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v1/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
def test_four_server_processes_share_one_database(postgres_url: str, tmp_path: Path) -> None:
    workspace = init_workspace(tmp_path / "ws")
    store = PostgresStore(postgres_url)
    key, _ = create_key(store, workspace.playbook().model, "ingest", None, None, utc_now())
    workspace.close()
    port = free_port()
    server = _serve(tmp_path / "ws", postgres_url, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _up(base) or server.poll() is not None, 90, "the server to start")
        assert server.poll() is None, "the server stopped"
        messages = [
            {"type": "identify", "userId": "ann", "traits": {"role": "CTO", "budget_estimate": 20000}},
            {
                "type": "group",
                "userId": "ann",
                "groupId": "acme",
                "traits": {"employees": 1500, "industry": "Software", "country": "FR"},
            },
            {"type": "track", "userId": "ann", "event": "Demo Requested"},
        ] + [{"type": "page", "userId": f"visitor-{n}", "properties": {"path": "/blog"}} for n in range(40)]
        for message in messages:
            message["messageId"] = str(uuid.uuid4())
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
            # one request per message, on several connections: uvicorn spreads them over the processes
            answers: list[int] = []
            threads = [
                threading.Thread(
                    target=lambda m=m: answers.append(http.post("/v1/batch", json={"batch": [m]}).status_code)
                )
                for m in messages
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert answers == [200] * len(messages)

        def qualified() -> bool:
            return store._one("SELECT owner FROM lead_state WHERE stage = 'sal_pending'") is not None

        try:
            wait_until(qualified, 120, "ann to be qualified and assigned")
        finally:
            print(store._run("SELECT kind, leads_scored, seconds, finished_at FROM scoring_runs ORDER BY run_id"))
        assert store.count("events") == 41 and store._run("SELECT count(*) FROM lead_state") == [(1,)]
        assert store._run("SELECT count(*) FROM transitions WHERE target = 'sal_pending'") == [(1,)]
    finally:
        server.terminate()
        _, log = server.communicate(timeout=60)
        store.close()
        print(log)
    assert "Traceback" not in log


def test_several_workers_on_the_embedded_store_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    init_workspace(tmp_path / "ws").close()
    status, _, err = run(capsys, "-w", str(tmp_path / "ws"), "serve", "--workers", "2")
    assert status == 2 and "--workers above 1 needs" in err and "PostgreSQL" in err


def test_a_table_exports_alike_on_every_engine(world: World, tmp_path: Path) -> None:
    world.lead("ann", email="ann@acme.example", role="CTO, Europe")
    world.did("ann", "page_view", "2026-11-20T10:00:00", path="/pricing").save()
    store = world.store
    assert store.export_table("events", tmp_path / "events.parquet") == 1
    assert pyarrow.parquet.read_table(tmp_path / "events.parquet").column("path").to_pylist() == ["/pricing"]
    assert store.export_table("traits", tmp_path / "traits.csv", ["entity_id", "name", "value", "learnt_at"]) == 3
    lines = (tmp_path / "traits.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "entity_id,name,value,learnt_at"
    assert sorted(lines[1:]) == [
        "ann,email,ann@acme.example,2026-01-01 00:00:00",
        "ann,email_domain,acme.example,2026-01-01 00:00:00",
        'ann,role,"CTO, Europe",2026-01-01 00:00:00',
    ]


def test_an_import_leaves_the_planner_statistics_fresh(postgres_url: str) -> None:
    """Autovacuum analyzes later: a cycle right after an import would be planned on tables the
    planner believes empty (measured: a full scoring of 2,000 leads in 194 s instead of 1 s)."""
    store = PostgresStore(postgres_url)
    at = dt.datetime(2026, 11, 20, 10, 0)
    rows: list[EventRow | TraitRow] = [
        EventRow(f"m-{n}", "track", "page_view", f"u-{n % 50}", None, at, at, None, None, None, None, None)
        for n in range(500)
    ]
    _batch(store, rows)
    estimates = dict(store._run("SELECT relname, reltuples FROM pg_class WHERE relname IN ('events', 'person_keys')"))
    assert estimates == {"events": 500, "person_keys": 50}
    store.close()


BATCH_INDEXES = {"events_batch_id": "events", "traits_batch_id": "traits", "identities_batch_id": "identities"}


def test_a_cycle_finds_its_new_facts_by_an_index_not_by_reading_every_fact(postgres_url: str) -> None:
    """Every cycle asks which leads the batches after its last one touched; without an index
    on ``batch_id`` that read every stored fact (34 ms at 200,000 events, and growing)."""
    store = PostgresStore(postgres_url)
    select = sql_postgres.TOUCHED_LEAD_KEYS[1].split(" AS", 1)[1]  # the statement without its CREATE TABLE
    store._run("SET enable_seqscan = off")  # on these empty tables a scan is as cheap: ask for the index's use
    plan = "\n".join(row[0] for row in store._run("EXPLAIN " + select, {"since": 7, "since_seq": 0}))
    store.close()
    assert all(index in plan for index in BATCH_INDEXES), plan


def test_a_commit_finds_the_next_person_key_and_batch_id_by_an_index(postgres_url: str) -> None:
    """Without them, every commit read every person (6 ms at 48,000, and growing with them)."""
    store = PostgresStore(postgres_url)
    store._run("SET enable_seqscan = off")  # on these empty tables a scan is as cheap: ask for the index's use
    plans = {
        index: "\n".join(row[0] for row in store._run(f"EXPLAIN SELECT coalesce(max({column}), 0) FROM {table}"))
        for index, table, column in (
            ("person_keys_first_key", "person_keys", "first_key"),
            ("imports_batch_id", "imports", "batch_id"),
        )
    }
    store.close()
    assert all(index in plan for index, plan in plans.items()), plans


def test_rows_copied_in_keep_every_value_as_it_was(postgres_url: str) -> None:
    """COPY reads the CSV Arrow writes: an empty string is not a null, and quotes, commas, line
    breaks, backslashes and special floats come back as they went in."""
    rows = pa.table(
        {
            "text": ["", None, 'say "hi", then\nleave', "back\\slash", "été 😀", "NULL", "\\N"],
            "number": [0.1, None, -0.0, float("inf"), float("-inf"), 1 / 3, 1e300],
            "whole": [0, None, -1, 2**62, 7, 8, 9],
            "flag": [True, None, False, True, False, True, False],
            "moment": [dt.datetime(2026, 11, 29, 9, 30, 1, 123456), None, *[dt.datetime(2026, 1, 1)] * 5],
            "day": [dt.date(2026, 2, 28), None, *[dt.date(2026, 1, 1)] * 5],
        }
    )
    store = PostgresStore(postgres_url)
    try:
        with store.registered("copied", rows):
            back = store._run("SELECT text, number, whole, flag, moment, day FROM copied ORDER BY whole NULLS FIRST")
    finally:
        store.close()
    expected = sorted(zip(*(rows[name].to_pylist() for name in rows.column_names), strict=True), key=_nulls_first)
    assert back == expected


def _nulls_first(row: tuple[object, ...]) -> tuple[bool, int]:
    whole = row[2]
    return (whole is not None, whole if isinstance(whole, int) else 0)


def test_a_database_without_the_batch_indexes_gains_them_at_upgrade(
    postgres_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as con:
        for index in BATCH_INDEXES:
            con.execute(f"DROP INDEX {index}")
    init_workspace(tmp_path / "ws").close()
    status, out, _ = run(capsys, "-w", str(tmp_path / "ws"), "db", "upgrade", "--database", postgres_url)
    assert status == 0, out
    assert all(f"created index {index}" in out for index in BATCH_INDEXES), out
    with psycopg.connect(postgres_url, autocommit=True) as con:
        found = dict(
            con.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(%s)", [list(BATCH_INDEXES)])
        )
    assert {index: definition.split(" ON ", 1)[1] for index, definition in found.items()} == {
        index: f"public.{table} USING btree (batch_id)" for index, table in BATCH_INDEXES.items()
    }


def test_an_incremental_scoring_is_planned_without_materialize_or_jit_and_the_settings_do_not_last(
    postgres_url: str,
) -> None:
    """The insert of rescored rows runs with ``enable_material`` and ``jit`` off (the planner's
    estimates of a few leads made it rescan every aggregate row for each lead, and on a large
    store JIT compilation cost a tenth of each run; docs/performance.md has the figures), and
    only that insert: the connection's later statements plan as usual."""
    store = PostgresStore(postgres_url)
    store._run("SET jit = on")  # the server's default, whatever the test server's build says
    store._run("CREATE TABLE keys_to_swap (lead_key BIGINT)")
    store._run("INSERT INTO keys_to_swap VALUES (1), (2)")
    store._run("CREATE TABLE swapped (lead_key BIGINT, planned_with TEXT)")
    store._run("INSERT INTO swapped VALUES (1, 'old'), (3, 'kept')")
    query = "SELECT lead_key, current_setting('enable_material') || ' ' || current_setting('jit') FROM keys_to_swap"
    store.replace_rows_as("swapped", query, ["lead_key", "planned_with"], "keys_to_swap")
    planned = sorted(store._run("SELECT lead_key, planned_with FROM swapped"))
    assert planned == [(1, "off off"), (2, "off off"), (3, "kept")]
    assert store._run("SHOW enable_material") == [("on",)] and store._run("SHOW jit") == [("on",)]
    store.close()


def test_decay_is_computed_in_floating_point_not_numeric(postgres_url: str) -> None:
    # PostgreSQL reads a decimal literal as NUMERIC; decay in NUMERIC cost ~15% of a cycle's scoring
    store = PostgresStore(postgres_url)
    month = 30 * 86_400
    decay = ibis.to_sql(decay_factor(ibis.literal(month, "int64"), half_life_days=30).name("decay"), dialect="postgres")
    found = store._one(f"SELECT pg_typeof(decay)::text, decay FROM ({decay}) AS q")
    store.close()
    assert found is not None and found[0] == "double precision" and abs(found[1] - 0.5) < 1e-12


def test_psycopg_runs_its_compiled_implementation() -> None:
    """pyproject.toml asks for ``psycopg[binary]``: the pure-Python implementation Ibis brings
    alone cost the server about a fifth of its CPU on PostgreSQL (docs/performance.md)."""
    assert psycopg.pq.__impl__ in ("binary", "c")


# -- the command line on a PostgreSQL database: test_cli's end-to-end tests, run again -------
@pytest.fixture
def workspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """test_cli's workspace (ann and bob's events imported), its database a PostgreSQL one."""
    monkeypatch.setenv("LEADGATE_DATABASE", postgres_url)
    root = tmp_path / "ws"
    assert run(capsys, "init", str(root))[0] == 0
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(message) + "\n" for message in test_cli.EVENTS))
    assert run(capsys, "-w", str(root), "import", "events", str(events))[0] == 0
    assert not (root / "leadgate.duckdb").exists()
    return root


def test_init_names_the_database_by_its_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not by the URL's last part as if it were a file of the workspace (a password would be hidden)."""
    monkeypatch.setenv("LEADGATE_DATABASE", postgres_url)
    status, out, _ = run(capsys, "init", str(tmp_path / "ws"))
    assert status == 0
    database_line = next(line for line in out.splitlines() if "the facts and scores" in line)
    assert database_line.split()[0] == shown_url(postgres_url)


test_cli_score_leads_explain_and_export = test_cli.test_score_leads_explain_and_export
test_cli_leads_by_stage_and_top = test_cli.test_leads_by_stage_and_top
test_cli_a_bad_import_lists_its_rows_and_imports_nothing = test_cli.test_a_bad_import_lists_its_rows_and_imports_nothing
test_cli_an_absence_can_be_cancelled_and_entered_again = test_cli.test_an_absence_can_be_cancelled_and_entered_again
