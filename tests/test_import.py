"""Importing files: Segment JSON lines, flat tables, leads and accounts; bad rows; idempotence."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leadgate.errors import InputError
from leadgate.ingest.importer import ImportOptions, import_file
from leadgate.ingest.rows import EventRow, IdentityRow, Row, RowProblem, parse_time
from leadgate.ingest.staging import buffer_rows, empty_buffers, stage_buffers
from leadgate.ingest.tables import ColumnMap
from leadgate.store.base import Store
from leadgate.store.duckdb_store import DuckDBStore

NOW = dt.datetime(2026, 11, 26, 12, 0, 0)


def write_jsonl(path: Path, messages: list[dict]) -> Path:
    path.write_text("".join(json.dumps(message) + "\n" for message in messages))
    return path


def counts(store: DuckDBStore) -> dict[str, int]:
    return {table: store.count(table) for table in ("events", "traits", "identities", "person_keys", "imports")}


def segment_messages() -> list[dict]:
    return [
        {
            "type": "page",
            "messageId": "p1",
            "anonymousId": "anon-1",
            "properties": {"path": "/pricing"},
            "context": {"campaign": {"source": "google", "medium": "cpc", "name": "q4"}},
            "timestamp": "2026-11-01T10:00:00.250Z",
        },
        {
            "type": "identify",
            "messageId": "i1",
            "userId": "u1",
            "anonymousId": "anon-1",
            "traits": {"email": "Ann@Acme.io", "firstName": "Ann", "budgetEstimate": "12,000"},
            "timestamp": "2026-11-01T10:05:00Z",
        },
        {
            "type": "track",
            "messageId": "t1",
            "userId": "u1",
            "event": "Demo Requested",
            "properties": {"plan": "teams"},
            "timestamp": "2026-11-02T09:00:00+01:00",
        },
        {
            "type": "group",
            "messageId": "g1",
            "userId": "u1",
            "groupId": "acme",
            "traits": {"name": "Acme", "employees": 250, "industry": "Software"},
            "timestamp": "2026-11-01T10:06:00Z",
        },
        {
            "type": "alias",
            "messageId": "a1",
            "previousId": "old-u1",
            "userId": "u1",
            "timestamp": "2026-11-03T00:00:00Z",
        },
        {"type": "screen", "messageId": "s1", "userId": "u1", "name": "Dashboard", "timestamp": "2026-11-03T00:00:00Z"},
    ]


def test_segment_messages_become_facts(store: DuckDBStore, tmp_path: Path) -> None:
    report = import_file(store, write_jsonl(tmp_path / "e.jsonl", segment_messages()), ImportOptions(kind="events"))
    assert report.rows_read == 6 and report.rows_rejected == 0
    events = store.con.execute(
        "SELECT message_id, lead_key, event, ts, path, utm_source, utm_campaign FROM events ORDER BY message_id"
    ).fetchall()
    lead_key = store.con.execute("SELECT lead_key FROM person_keys WHERE id_value = 'u1'").fetchall()[0][0]
    assert events == [
        ("p1", lead_key, "page_view", dt.datetime(2026, 11, 1, 10, 0, 0), "/pricing", "google", "q4"),  # ms dropped
        ("s1", lead_key, "screen_view", dt.datetime(2026, 11, 3), None, None, None),
        ("t1", lead_key, "demo_requested", dt.datetime(2026, 11, 2, 8, 0, 0), None, None, None),  # +01:00 -> UTC
    ]
    traits = dict(store.con.execute("SELECT name, value FROM traits WHERE entity_type = 'lead'").fetchall())
    assert traits == {
        "email": "Ann@Acme.io",
        "first_name": "Ann",
        "budget_estimate": "12000",
        "email_domain": "acme.io",
    }
    accounts = dict(store.con.execute("SELECT name, value FROM traits WHERE entity_type = 'account'").fetchall())
    assert accounts == {"name": "Acme", "employees": "250", "industry": "Software"}
    links = store.con.execute("SELECT kind, from_id, to_id FROM identities ORDER BY fact_id").fetchall()
    assert links == [("alias", "old-u1", "u1"), ("account", "u1", "acme"), ("alias", "anon-1", "u1")]


def test_importing_the_same_file_twice_changes_nothing(store: DuckDBStore, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "e.jsonl", segment_messages())
    import_file(store, path, ImportOptions(kind="events"))
    before = counts(store)
    again = import_file(store, path, ImportOptions(kind="events"))
    assert again.facts_added == 0
    after = counts(store)
    assert {k: v for k, v in after.items() if k != "imports"} == {k: v for k, v in before.items() if k != "imports"}


def test_clock_skew_is_corrected_as_the_segment_spec_says(store: DuckDBStore, tmp_path: Path) -> None:
    # The device clock is 10 minutes behind: sent at 09:50 (device) but received at 10:00.
    # The event happened at 09:40 device time, i.e. 09:50 real time.
    message = {
        "type": "track",
        "messageId": "m",
        "userId": "u",
        "event": "x",
        "originalTimestamp": "2026-11-01T09:40:00Z",
        "sentAt": "2026-11-01T09:50:00Z",
        "receivedAt": "2026-11-01T10:00:00Z",
    }
    import_file(store, write_jsonl(tmp_path / "e.jsonl", [message]), ImportOptions(kind="events"))
    assert store.con.execute("SELECT ts FROM events").fetchall() == [(dt.datetime(2026, 11, 1, 9, 50),)]


def test_a_file_with_bad_rows_imports_nothing_and_says_where(store: DuckDBStore, tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", segment_messages()[:2])
    import_file(store, good, ImportOptions(kind="events"))
    before = counts(store)
    lines = [
        json.dumps(
            {"type": "track", "messageId": "ok", "userId": "u9", "event": "x", "timestamp": "2026-11-01T00:00:00Z"}
        ),
        "{not json",
        json.dumps({"type": "track", "userId": "u9", "event": "x", "timestamp": "2026-11-01T00:00:00Z"}),
        json.dumps({"type": "track", "messageId": "m3", "userId": "u9", "event": "x", "timestamp": "yesterday"}),
        json.dumps({"type": "shout", "messageId": "m4", "userId": "u9"}),
        json.dumps({"type": "page", "messageId": "m5", "timestamp": "2026-11-01T00:00:00Z"}),
    ]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as caught:
        import_file(store, bad, ImportOptions(kind="events"))
    found = [(issue.line, issue.code) for issue in caught.value.issues]
    assert found == [(2, "IM001"), (3, "IM002"), (4, "IM003"), (5, "IM004"), (6, "IM002")]
    assert "5 bad rows of 6; nothing was imported" in str(caught.value)
    assert counts(store) == before


def test_skip_invalid_imports_the_good_rows_and_keeps_the_rejects(store: DuckDBStore, tmp_path: Path) -> None:
    bad = tmp_path / "mixed.jsonl"
    bad.write_text(
        json.dumps(
            {"type": "track", "messageId": "ok", "userId": "u9", "event": "x", "timestamp": "2026-11-01T00:00:00Z"}
        )
        + "\n{oops\n"
    )
    report = import_file(store, bad, ImportOptions(kind="events", skip_invalid=True))
    assert report.rows_rejected == 1 and store.count("events") == 1
    rejects = [orjson.loads(line) for line in Path(report.rejects_file or "").read_text().splitlines()]
    assert rejects == [{"line": 2, "code": "IM001", "error": rejects[0]["error"], "row": "{oops"}]
    assert "not valid JSON" in rejects[0]["error"]
    assert report.rejects_file == str(tmp_path / "mixed.jsonl.rejects.jsonl")
    assert sorted(path.name for path in tmp_path.glob("mixed*")) == ["mixed.jsonl", "mixed.jsonl.rejects.jsonl"]


def test_skip_invalid_imports_nothing_when_the_skipped_rows_cannot_be_written(
    store: DuckDBStore, tmp_path: Path
) -> None:
    """The skipped rows are written before the good ones are committed: where they cannot be
    (here a folder has the rejects file's name), the import stops and stores nothing."""
    bad = tmp_path / "mixed.jsonl"
    good = {"type": "track", "messageId": "ok", "userId": "u9", "event": "x", "timestamp": "2026-11-01T00:00:00Z"}
    bad.write_text(json.dumps(good) + "\n{oops\n")
    (tmp_path / "mixed.jsonl.rejects.jsonl").mkdir()
    before = counts(store)
    with pytest.raises(InputError, match=r"mixed.jsonl.rejects.jsonl: the skipped rows cannot be written there"):
        import_file(store, bad, ImportOptions(kind="events", skip_invalid=True))
    assert counts(store) == before
    assert sorted(path.name for path in tmp_path.glob("mixed*")) == ["mixed.jsonl", "mixed.jsonl.rejects.jsonl"]


def test_flat_csv_parquet_and_gzip_events(store: DuckDBStore, tmp_path: Path) -> None:
    csv_file = tmp_path / "events.csv"
    csv_file.write_text(
        "message_id,user_id,anonymous_id,event,timestamp,properties\n"
        'c1,u1,,Page View,2026-11-01T10:00:00Z,"{""path"": ""/pricing""}"\n'
        "c2,,a7,webinar_attended,2026-11-01 11:00:00,\n"
    )
    parquet_file = tmp_path / "events.parquet"
    pq.write_table(
        pa.table(
            {
                "message_id": ["q1"],
                "user_id": ["u1"],
                "anonymous_id": [None],
                "event": ["email_clicked"],
                "timestamp": ["2026-11-02T00:00:00Z"],
                "properties": ['{"campaign": "nov"}'],
            }
        ),
        parquet_file,
    )
    gz_file = tmp_path / "events.jsonl.gz"
    with gzip.open(gz_file, "wt") as out:
        out.write(
            json.dumps(
                {"type": "track", "messageId": "z1", "userId": "u1", "event": "x", "timestamp": "2026-11-03T00:00:00Z"}
            )
            + "\n"
        )
    for path in (csv_file, parquet_file, gz_file):
        import_file(store, path, ImportOptions(kind="events"))
    rows = store.con.execute("SELECT message_id, event, path, properties FROM events ORDER BY message_id").fetchall()
    assert rows == [
        ("c1", "page_view", "/pricing", '{"path":"/pricing"}'),
        ("c2", "webinar_attended", None, None),
        ("q1", "email_clicked", None, '{"campaign":"nov"}'),
        ("z1", "x", None, None),
    ]


def test_leads_csv_with_a_column_map(store: DuckDBStore, tmp_path: Path) -> None:
    hubspot = tmp_path / "contacts.csv"
    hubspot.write_text(
        "Contact ID,Email,Job Title,Company ID,Annual Budget\n"
        "101,ann@acme.io,CTO,acme,15000\n"
        "102,bob@gmail.com,Student,,\n"
    )
    options = ImportOptions(
        kind="leads",
        column_map=ColumnMap.parse(
            ["lead_id=Contact ID,role=Job Title", "account_id=Company ID,budget_estimate=Annual Budget"]
        ),
        trait_types={"budget_estimate": "number"},
        now=NOW,
    )
    report = import_file(store, hubspot, options)
    assert report.rows_rejected == 0
    traits = store.con.execute(
        "SELECT entity_id, name, value, learnt_at FROM traits WHERE value IS NOT NULL ORDER BY entity_id, name"
    ).fetchall()
    assert traits == [
        ("101", "budget_estimate", "15000", NOW),
        ("101", "email", "ann@acme.io", NOW),
        ("101", "email_domain", "acme.io", NOW),
        ("101", "role", "CTO", NOW),
        ("102", "email", "bob@gmail.com", NOW),
        ("102", "email_domain", "gmail.com", NOW),
        ("102", "role", "Student", NOW),
    ]
    assert store.con.execute("SELECT from_id, to_id FROM identities WHERE kind = 'account'").fetchall() == [
        ("101", "acme")
    ]
    assert store.facts().leads().count().to_pyarrow().as_py() == 2
    again = import_file(store, hubspot, ImportOptions(**{**options.__dict__, "now": NOW + dt.timedelta(days=1)}))
    assert again.facts_added == 0  # same file, same facts, even imported on another day


def test_times_outside_the_calendar_once_in_utc_are_bad_rows(store: DuckDBStore, tmp_path: Path) -> None:
    """Year 1 at +05:00 is before year 1 in UTC; a client clock skew can push a time past 9999."""
    lines = [
        {"type": "track", "messageId": "a", "userId": "u", "event": "x", "timestamp": "0001-01-01T00:00:00+05:00"},
        {
            "type": "track",
            "messageId": "b",
            "userId": "u",
            "event": "x",
            "originalTimestamp": "9999-12-31T23:00:00Z",
            "sentAt": "2000-01-01T00:00:00Z",
            "receivedAt": "2026-11-01T00:00:00Z",
        },
    ]
    with pytest.raises(InputError) as caught:
        import_file(store, write_jsonl(tmp_path / "far.jsonl", lines), ImportOptions(kind="events"))
    assert [(issue.line, issue.code) for issue in caught.value.issues] == [(1, "IM003"), (2, "IM003")]
    assert "originalTimestamp" in caught.value.issues[1].message
    assert store.count("events") == 0


def test_a_number_trait_with_text_is_a_bad_row(store: DuckDBStore, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,employees,industry\nacme,250,Software\nbeta,lots,Retail\n,10,Retail\n")
    with pytest.raises(InputError) as caught:
        import_file(store, accounts, ImportOptions(kind="accounts", trait_types={"employees": "number"}))
    assert [str(issue) for issue in caught.value.issues] == [
        f"{accounts}:3: IM005 employees: 'lots' is not a number",
        f"{accounts}:4: IM002 account_id: an account_id is required",
    ]
    assert store.count("traits") == 0


def test_a_number_trait_that_is_not_finite_is_a_bad_row(store: DuckDBStore, tmp_path: Path) -> None:
    """Infinity (written out, or a number too large for a float) and NaN would satisfy or
    break every rule that compares them."""
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(f"account_id,employees\na,inf\nb,NaN\nc,1e999\nd,{'9' * 400}\ne,250\n")
    with pytest.raises(InputError) as caught:
        import_file(store, accounts, ImportOptions(kind="accounts", trait_types={"employees": "number"}))
    assert [(issue.line, issue.code) for issue in caught.value.issues] == [
        (2, "IM005"),
        (3, "IM005"),
        (4, "IM005"),
        (5, "IM005"),
    ]
    assert all("is not a finite number" in issue.message for issue in caught.value.issues)
    assert store.count("traits") == 0


def test_a_map_to_a_missing_column_is_refused_before_reading(store: DuckDBStore, tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("id,email\n1,a@b.c\n")
    with pytest.raises(InputError, match="--map names column\\(s\\) not in the file: Contact ID"):
        import_file(store, leads, ImportOptions(kind="leads", column_map=ColumnMap.parse(["lead_id=Contact ID"])))
    with pytest.raises(InputError, match="no column for lead_id"):
        import_file(store, leads, ImportOptions(kind="leads"))


def test_rows_wider_than_the_header_are_bad_rows(store: DuckDBStore, tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("lead_id,email\n1,a@b.c,extra\n")
    with pytest.raises(InputError) as caught:
        import_file(store, leads, ImportOptions(kind="leads"))
    assert [(issue.line, issue.code) for issue in caught.value.issues] == [(2, "IM007")]


def test_unknown_file_types_and_missing_files(store: DuckDBStore, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="cannot tell the format"):
        import_file(store, tmp_path / "notes.txt", ImportOptions(kind="events"))
    with pytest.raises(Exception, match="no such file"):
        import_file(store, tmp_path / "absent.jsonl", ImportOptions(kind="events"))


def test_aliases_merge_anonymous_history_and_follow_chains(store: DuckDBStore, tmp_path: Path) -> None:
    messages = [
        {
            "type": "track",
            "messageId": "e1",
            "anonymousId": "cookie",
            "event": "x",
            "timestamp": "2026-11-01T00:00:00Z",
        },
        {"type": "track", "messageId": "e2", "userId": "old", "event": "x", "timestamp": "2026-11-01T00:00:00Z"},
    ]
    import_file(store, write_jsonl(tmp_path / "one.jsonl", messages), ImportOptions(kind="events"))
    assert store.con.execute("SELECT count(DISTINCT lead_key) FROM events").fetchall() == [(2,)]
    links = [
        {
            "type": "alias",
            "messageId": "l1",
            "previousId": "cookie",
            "userId": "old",
            "timestamp": "2026-11-02T00:00:00Z",
        },
        {"type": "alias", "messageId": "l2", "previousId": "old", "userId": "new", "timestamp": "2026-11-03T00:00:00Z"},
    ]
    import_file(store, write_jsonl(tmp_path / "two.jsonl", links), ImportOptions(kind="events"))
    new_key = store.con.execute("SELECT lead_key FROM person_keys WHERE id_value = 'new'").fetchall()[0][0]
    assert store.con.execute("SELECT DISTINCT lead_key FROM events").fetchall() == [(new_key,)]
    leads = store.facts().leads().to_pyarrow().to_pylist()
    assert leads == [{"lead_key": new_key, "lead_id": "new"}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-02T09:00:00+01:00", dt.datetime(2026, 11, 2, 8, 0, 0)),
        ("2026-11-01T10:00:00.250Z", dt.datetime(2026, 11, 1, 10, 0, 0)),
        (" 2026-11-01 10:00:59.999 ", dt.datetime(2026, 11, 1, 10, 0, 59)),
    ],
)
def test_a_time_text_is_read_as_utc_to_the_second_each_time_it_comes(text: str, expected: dt.datetime) -> None:
    assert parse_time(text, "timestamp") == expected
    assert parse_time(text, "sentAt") == expected  # the second time from the kept texts


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("  ", "a time is required"),
        ("yesterday", "'yesterday' is not a time"),
        ("0001-01-01T00:00:00+05:00", "falls outside the years 1 to 9999 once moved to UTC"),
    ],
)
def test_a_bad_time_text_is_refused_each_time_it_comes_with_its_field(text: str, says: str) -> None:
    for field in ("timestamp", "sentAt"):
        with pytest.raises(RowProblem, match=says) as caught:
            parse_time(text, field)
        assert (caught.value.code, caught.value.field) == ("IM003", field)


def test_a_visitor_aliased_before_any_of_its_events_has_them_counted_for_the_user(
    store: DuckDBStore, tmp_path: Path
) -> None:
    """The alias names a cookie no event has named yet: the cookie still gets a key, merged
    into the user's, so its later anonymous events are the user's."""
    first = [
        {"type": "track", "messageId": "e1", "userId": "ann", "event": "x", "timestamp": "2026-11-01T00:00:00Z"},
        {
            "type": "alias",
            "messageId": "l1",
            "previousId": "cookie",
            "userId": "ann",
            "timestamp": "2026-11-01T00:01:00Z",
        },
    ]
    import_file(store, write_jsonl(tmp_path / "one.jsonl", first), ImportOptions(kind="events"))
    later = [{"type": "page", "messageId": "p1", "anonymousId": "cookie", "timestamp": "2026-11-02T00:00:00Z"}]
    import_file(store, write_jsonl(tmp_path / "two.jsonl", later), ImportOptions(kind="events"))
    keys = dict(store.con.execute("SELECT id_value, lead_key FROM person_keys").fetchall())
    assert keys["cookie"] == keys["ann"]
    assert store.con.execute("SELECT message_id, lead_key FROM events ORDER BY message_id").fetchall() == [
        ("e1", keys["ann"]),
        ("p1", keys["ann"]),
    ]


def test_an_anonymous_id_already_identified_is_not_moved_to_another_user(store: DuckDBStore, tmp_path: Path) -> None:
    messages = [
        {
            "type": "identify",
            "messageId": "i1",
            "userId": "ann",
            "anonymousId": "shared-laptop",
            "timestamp": "2026-11-01T00:00:00Z",
        },
        {
            "type": "track",
            "messageId": "e1",
            "anonymousId": "shared-laptop",
            "event": "x",
            "timestamp": "2026-11-01T00:01:00Z",
        },
    ]
    import_file(store, write_jsonl(tmp_path / "a.jsonl", messages), ImportOptions(kind="events"))
    later = [
        {
            "type": "identify",
            "messageId": "i2",
            "userId": "bob",
            "anonymousId": "shared-laptop",
            "timestamp": "2026-11-02T00:00:00Z",
        }
    ]
    import_file(store, write_jsonl(tmp_path / "b.jsonl", later), ImportOptions(kind="events"))
    owner = store.con.execute(
        "SELECT p.id_value FROM events e JOIN person_keys p ON p.lead_key = e.lead_key AND p.id_kind = 'user'"
    ).fetchall()
    assert owner == [("ann",)]


def test_erasing_a_person_removes_personal_data_and_keeps_counts(store: DuckDBStore, tmp_path: Path) -> None:
    import_file(store, write_jsonl(tmp_path / "e.jsonl", segment_messages()), ImportOptions(kind="events"))
    events_before = store.count("events")
    store.erase_person("u1", NOW)
    assert store.count("events") == events_before
    assert store.con.execute(
        "SELECT count(*) FROM events WHERE user_id IS NOT NULL OR anonymous_id IS NOT NULL OR properties IS NOT NULL OR path IS NOT NULL"
    ).fetchall() == [(0,)]
    assert store.con.execute("SELECT count(*) FROM traits WHERE entity_type = 'lead'").fetchall() == [(0,)]
    assert store.con.execute(
        "SELECT count(*) FROM person_keys WHERE id_value IN ('u1', 'anon-1', 'old-u1')"
    ).fetchall() == [(0,)]
    assert store.count("erasures") == 1


def test_a_commit_knows_what_every_chunk_staged_and_finds_an_alias_in_the_last_one(store: Store) -> None:
    """The counts and the alias check come from the staged chunks themselves: an alias staged
    in a later chunk than the rest is resolved, and traits, staged in none, add nothing."""
    moment = dt.datetime(2026, 11, 2, 9)
    visit = EventRow("e1", "page", "page_view", None, "cookie", moment, moment, "/", None, None, None, None)
    chunks: list[list[Row]] = [
        [visit, IdentityRow("f1", "account", "ann", "acme", moment)],
        [IdentityRow("f2", "alias", "cookie", "ann", moment)],
    ]
    store.begin_batch()
    for line, rows in enumerate(chunks, 1):
        buffers = empty_buffers()
        buffer_rows(buffers, rows, line)
        stage_buffers(store, buffers)
    result = store.commit_batch("test", "test", 3, moment)
    assert (result.events_added, result.traits_added, result.identities_added, result.aliases_applied) == (1, 0, 2, 1)
    ann = store._one("SELECT lead_key FROM person_keys WHERE id_kind = 'user' AND id_value = 'ann'")
    assert ann is not None and store._run("SELECT lead_key FROM events") == [ann]  # the visit is ann's now


def test_the_rows_of_a_discarded_batch_never_reach_a_later_commit(store: Store) -> None:
    """A batch that fails is discarded; the next one on the same connection stores its own rows
    only, and so does the one after (the staging tables made again each time)."""
    moment = dt.datetime(2026, 11, 2, 9)

    def stage(*ids: str) -> None:
        buffers = empty_buffers()
        rows: list[Row] = [
            EventRow(id, "track", "demo_requested", "ann", None, moment, moment, None, None, None, None, None)
            for id in ids
        ]
        buffer_rows(buffers, rows, 1)
        stage_buffers(store, buffers)

    for attempt in range(2):
        store.begin_batch()
        stage(f"failed-{attempt}")
        store.discard_batch()
        store.begin_batch()
        stage(f"kept-{attempt}")
        result = store.commit_batch("test", "test", 1, moment)
        assert result.events_added == 1
    assert sorted(row[0] for row in store._run("SELECT message_id FROM events")) == ["kept-0", "kept-1"]


def _truncated_gzip(path: Path) -> Path:
    line = json.dumps(
        {"type": "track", "messageId": "m", "userId": "u", "event": "e", "timestamp": "2026-11-01T00:00:00Z"}
    )
    data = gzip.compress((line + "\n").encode() * 200)
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize(
    ("name", "content", "kind", "says"),
    [
        ("events.jsonl.gz", b"not gzip at all\n", "events", "the name ends in .gz but the file is not gzip data"),
        ("events.jsonl.gz", None, "events", "the gzip data is damaged or cut short"),
        ("events.parquet", b"nope", "events", "not a Parquet file that can be read"),
        ("leads.parquet", b"PAR1 but not really", "leads", "not a Parquet file that can be read"),
        ("leads.csv", b"", "leads", "the file is empty; a CSV file starts with its header"),
    ],
)
def test_a_file_that_is_not_what_its_name_says_is_refused_with_its_name(
    store: DuckDBStore, tmp_path: Path, name: str, content: bytes | None, kind: str, says: str
) -> None:
    path = tmp_path / name
    if content is None:
        _truncated_gzip(path)
    else:
        path.write_bytes(content)
    before = counts(store)
    with pytest.raises(InputError, match=says) as caught:
        import_file(store, path, ImportOptions(kind=kind))  # type: ignore[arg-type]
    assert str(path) in str(caught.value)
    assert counts(store) == before
