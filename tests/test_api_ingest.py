"""Segment-compatible ingestion over a real socket, with the real Segment client."""

from __future__ import annotations

import datetime as dt
import gzip
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest
from segment.analytics.client import Client
from segment.analytics.request import APIError

from leadgate.api.ingest import message_fact_rows
from leadgate.service import runtime as runtime_module
from leadgate.service.intake import Intake
from leadgate.store.base import Store
from tests.service_fixtures import Served, serving, wait_until


@pytest.fixture
def served(tmp_path: Path, database: str | None):  # type: ignore[no-untyped-def]
    with serving(tmp_path / "ws", database=database) as running:
        yield running


def stored(served: Served, table: str) -> int:
    with served.runtime.locked() as store:
        return store.count(table)


def segment_client(served: Served, key: str, **options: object) -> Client:
    errors: list[Exception] = []
    client = Client(
        write_key=key,
        host=served.url,
        sync_mode=True,
        on_error=lambda error, batch: errors.append(error),
        **options,
    )
    client.errors = errors  # type: ignore[attr-defined]
    return client


def test_the_real_segment_client_stores_its_messages(served: Served) -> None:
    client = segment_client(served, served.keys["ingest"], gzip=True)
    client.identify("ann", {"email": "ann@acme.example", "role": "CTO", "firstName": "Ann"})
    client.group("ann", "acme", {"employees": 1500, "industry": "Software", "country": "FR"})
    client.track("ann", "Demo Requested", {"path": "/demo"})
    client.page("ann", name="Pricing", properties={"path": "/pricing"})
    client.alias("visitor-1", "ann")
    client.flush()
    assert client.errors == []  # type: ignore[attr-defined]
    assert stored(served, "events") == 2
    with served.runtime.locked() as store:
        names = {row[0] for row in store._run("SELECT name FROM traits WHERE entity_type = 'lead'")}
        assert {"email", "role", "first_name", "email_domain"} <= names
        assert store._one("SELECT value FROM traits WHERE entity_type = 'account' AND name = 'employees'") == ("1500",)
        assert store._run("SELECT event, path FROM events ORDER BY event") == [
            ("demo_requested", "/demo"),
            ("page_view", "/pricing"),
        ]


def test_a_resent_message_is_stored_once(served: Served) -> None:
    message = {"type": "track", "messageId": "m-1", "userId": "ann", "event": "Webinar Attended"}
    with served.client("ingest") as http:
        for _ in range(3):
            assert http.post("/v1/batch", json={"batch": [message]}).json() == {"success": True}
        assert http.post("/v1/track", json=message).status_code == 200
    assert stored(served, "events") == 1


def test_the_event_time_follows_the_spec(served: Served) -> None:
    """timestamp wins; else originalTimestamp corrected by the client's clock skew (receivedAt - sentAt)."""
    with served.client("ingest") as http:
        sent = {"type": "track", "userId": "ann", "event": "x"}
        http.post("/v1/track", json={**sent, "messageId": "a", "timestamp": "2026-11-20T10:00:00Z"}).raise_for_status()
        # a client whose clock is one year behind: sentAt and originalTimestamp both a year early
        skewed = {"messageId": "b", "originalTimestamp": "2025-11-20T10:00:00Z", "sentAt": "2025-11-20T10:00:05Z"}
        http.post("/v1/track", json={**sent, **skewed}).raise_for_status()
    with served.runtime.locked() as store:
        rows = dict(store._run("SELECT message_id, ts FROM events"))
        received = dict(store._run("SELECT message_id, received_at FROM events"))
    assert str(rows["a"]) == "2026-11-20 10:00:00"
    # corrected: the event happened 5 s before the server received it
    assert (received["b"] - rows["b"]).total_seconds() == 5


def test_write_key_in_the_body_and_gzip_bodies_are_accepted(served: Served) -> None:
    body = {
        "writeKey": served.keys["ingest"],
        "batch": [{"type": "track", "messageId": "g", "userId": "u", "event": "e"}],
    }
    with served.client() as http:
        response = http.post(
            "/v1/batch", content=gzip.compress(orjson.dumps(body)), headers={"Content-Encoding": "gzip"}
        )
    assert response.status_code == 200, response.text
    assert stored(served, "events") == 1


@pytest.mark.parametrize(
    ("path", "body", "code", "where"),
    [
        ("/v1/track", {"messageId": "1", "event": "e"}, "bad_input", "body.userId"),
        ("/v1/track", {"messageId": "1", "userId": "u"}, "bad_input", "body.event"),
        ("/v1/track", {"messageId": "1", "userId": {"a": 1}, "event": "e"}, "bad_input", "body.userId"),
        (
            "/v1/batch",
            {"batch": [{"type": "track", "messageId": "1", "userId": "u", "event": "e"}, {"type": "x"}]},
            "bad_input",
            "batch[1].type",
        ),
        ("/v1/group", {"messageId": "1", "userId": "u"}, "bad_input", "body.groupId"),
        ("/v1/alias", {"messageId": "1", "userId": "u"}, "bad_input", "body.previousId"),
        (
            "/v1/track",
            {"messageId": "1", "userId": "u", "event": "e", "timestamp": "yesterday"},
            "bad_input",
            "body.timestamp",
        ),
        ("/v1/batch", {"messages": []}, "bad_input", None),
        (
            "/v1/identify",
            {"messageId": "1", "userId": "u", "traits": {"budgetEstimate": "1e999"}},
            "bad_input",
            "body.traits.budgetEstimate",
        ),
        (
            "/v1/group",
            {"messageId": "1", "userId": "u", "groupId": "g", "traits": {"employees": "NaN"}},
            "bad_input",
            "body.traits.employees",
        ),
    ],
)
def test_bad_messages_are_refused_whole_and_say_where(
    served: Served, path: str, body: dict[str, object], code: str, where: str | None
) -> None:
    with served.client("ingest") as http:
        response = http.post(path, json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == code and problem["status"] == 400 and problem["detail"]
    if where:
        assert where in [place["where"] for place in problem["errors"]]
    assert stored(served, "events") == 0  # the good message of a refused batch is not stored either


def test_size_limits_are_segments(served: Served) -> None:
    big = "x" * (33 * 1024)
    with served.client("ingest") as http:
        one = http.post("/v1/track", json={"messageId": "1", "userId": "u", "event": "e", "properties": {"p": big}})
        in_batch = http.post(
            "/v1/batch",
            json={
                "batch": [{"type": "track", "messageId": "2", "userId": "u", "event": "e", "properties": {"p": big}}]
            },
        )
        messages = [
            {"type": "track", "messageId": str(n), "userId": "u", "event": "e", "properties": {"p": "y" * 20_000}}
            for n in range(30)
        ]
        batch = http.post("/v1/batch", json={"batch": messages})
        bomb = http.post(
            "/v1/batch",
            content=gzip.compress(b'{"batch": [' + b" " * (600 * 1024) + b"]}"),
            headers={"Content-Encoding": "gzip"},
        )
    for response in (one, in_batch, batch, bomb):
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "too_large"
    assert "batch[0]" in in_batch.json()["detail"]
    assert stored(served, "events") == 0


def test_bodies_that_are_not_json_or_not_gzip_are_refused(served: Served) -> None:
    with served.client("ingest") as http:
        not_json = http.post("/v1/track", content=b"{nope", headers={"Content-Type": "application/json"})
        not_gzip = http.post("/v1/track", content=b"{}", headers={"Content-Encoding": "gzip"})
        empty = http.post("/v1/track", content=b"")
    assert [r.status_code for r in (not_json, not_gzip, empty)] == [400, 400, 400]
    assert "not valid JSON" in not_json.json()["detail"]
    assert "not gzip" in not_gzip.json()["detail"]


def test_keys_are_checked(served: Served) -> None:
    message = {"messageId": str(uuid.uuid4()), "userId": "u", "event": "e"}
    with served.client() as anonymous, served.client("carla") as sales:
        assert anonymous.post("/v1/track", json=message).status_code == 401
        assert anonymous.post("/v1/track", json=message, auth=("lg_00000000_wrong", "")).status_code == 401
        refused = sales.post("/v1/track", json=message)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    client = segment_client(served, "lg_00000000_wrong")
    with pytest.raises(APIError) as refused_by_server:  # in sync mode the client raises what the server said
        client.track("u", "e")
    assert refused_by_server.value.status == 401
    assert stored(served, "events") == 0


def test_an_event_that_crosses_a_threshold_is_qualified_and_routed(served: Served) -> None:
    client = segment_client(served, served.keys["ingest"])
    client.identify("ann", {"role": "CTO", "budget_estimate": 20000})
    client.group("ann", "acme", {"employees": 1500, "industry": "Software", "country": "FR"})
    client.track("ann", "Demo Requested")
    client.flush()

    def assigned() -> bool:
        with served.runtime.locked() as store:
            return store._one("SELECT owner FROM lead_state WHERE stage = 'sal_pending'") is not None

    wait_until(assigned, 10, "ann to be qualified and assigned")


def test_health_says_how_long_the_recent_commits_and_cycles_took(served: Served) -> None:
    with served.client("ingest") as http:
        message = {"type": "track", "messageId": "m-1", "userId": "ann", "event": "Webinar Attended"}
        http.post("/v1/batch", json={"batch": [message]}).raise_for_status()
        wait_until(lambda: served.runtime.worker.cycles >= 2, 10, "the start's cycle and the one the commit woke")
        health = http.get("/v1/health").json()
    assert health["commits"] == 1
    commit = health["commit_ms"]
    assert commit["count"] == 1 and 0 < commit["p50_ms"] == commit["p99_ms"] == commit["max_ms"]
    cycle = health["cycle_ms"]
    assert cycle["count"] == health["cycles"] >= 2
    assert 0 < cycle["p50_ms"] <= cycle["p99_ms"] <= cycle["max_ms"]
    assert health["checkpoints"] == 0 and health["checkpoint_ms"] is None  # one message: none due
    assert health["leads_rescored"] >= 1  # ann, by the cycle the commit woke
    assert health["leads_folded"] == 0  # histories this short are read again, not folded


def test_a_key_checked_again_waits_for_the_lock_off_the_event_loop(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key is looked up again every KEY_RECHECK_SECONDS, under the lock a cycle holds for its
    whole length. The request waits for it on a thread: the server goes on answering others
    (waiting on the event loop, it answered nobody until the lock was free)."""
    monkeypatch.setattr(runtime_module, "KEY_RECHECK_SECONDS", 0.0)  # every request checks its key again
    message = {"type": "track", "userId": "ann", "event": "Webinar Attended"}
    with served.client("ingest") as ingest, served.client() as anyone, ThreadPoolExecutor(1) as pool:
        assert ingest.post("/v1/track", json={**message, "messageId": "m-1"}).status_code == 200
        with served.runtime.locked():  # as a cycle holds it
            waiting = pool.submit(ingest.post, "/v1/track", json={**message, "messageId": "m-2"})
            time.sleep(0.5)
            assert not waiting.done()  # its key's check waits for the lock
            assert anyone.get("/v1/health", timeout=5).status_code == 200  # meanwhile others are answered
        assert waiting.result(timeout=30).status_code == 200
    assert stored(served, "events") == 2


def test_requests_committed_together_keep_their_order_and_the_first_copy_wins(store: Store) -> None:
    """Each request's rows are numbered after the earlier requests' rows, so a commit of
    several keeps a message sent twice as its first request sent it (as one request does)."""
    first = message_fact_rows(
        [
            {"type": "identify", "messageId": "i-1", "userId": "ann", "traits": {"role": "CTO"}},
            {"type": "track", "messageId": "m-1", "userId": "ann", "event": "Webinar Attended"},
        ],
        None,
        None,
        dt.datetime(2026, 11, 20, 10),
    )
    second = message_fact_rows(
        [
            {"type": "track", "messageId": "m-1", "userId": "ann", "event": "Demo Requested"},
            {"type": "identify", "messageId": "i-2", "userId": "bob", "traits": {"role": "CFO"}},
        ],
        None,
        None,
        dt.datetime(2026, 11, 20, 11),
    )
    intake = Intake(store)
    answers = [intake.submit(intake.tables_of(first), 2), intake.submit(intake.tables_of(second), 2)]
    intake.start()  # both are queued: one commit takes them together
    try:
        results = [answer.result(timeout=30) for answer in answers]
    finally:
        intake.stop()
    assert results[0] is results[1]  # one commit answered both
    assert store.query_rows("SELECT message_id, event FROM events") == [
        {"message_id": "m-1", "event": "webinar_attended"}
    ]
    # rows are numbered across both requests: ann's trait is row 1, bob's row 4 (2 + 2); the
    # second request's m-1 is row 3, after the first's (row 2), so the first's copy is kept
    traits = store.query_rows("SELECT entity_id, value, seq FROM traits ORDER BY seq")
    assert traits == [{"entity_id": "ann", "value": "CTO", "seq": 1}, {"entity_id": "bob", "value": "CFO", "seq": 4}]


def test_a_server_process_leaves_its_start_up_objects_out_of_garbage_collections_and_switches_threads_often() -> None:
    script = (
        "import gc, sys; from leadgate.service.runtime import tune_interpreter, YOUNG_GENERATION_OBJECTS;"
        "before = (gc.get_freeze_count(), sys.getswitchinterval()); tune_interpreter();"
        "print(*before, gc.get_freeze_count() > 1000, gc.get_threshold()[0] == YOUNG_GENERATION_OBJECTS,"
        " sys.getswitchinterval())"
    )
    shown = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert shown.split() == ["0", "0.005", "True", "True", "0.001"]
