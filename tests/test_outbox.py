"""The outbox: which facts make which notifications, and their delivery to real receivers.

The pure matching is checked on hand-written lead stories; delivery against a real local
HTTP receiver (that fails on purpose) and a real SMTP server; the CLI and the API on real
workspaces; and end to end, a Segment event that becomes a signed webhook.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path

import pytest
from segment.analytics.client import Client

from leadgate.domain.stages import Stage
from leadgate.errors import SettingError
from leadgate.lifecycle.facts import AssignmentFact, BreachFact, TransitionFact
from leadgate.lifecycle.machine import Cause
from leadgate.lifecycle.notifications import Notice, RecordedFact, notices_of, payload_of, retry_delay
from leadgate.playbook.compiled import Playbook
from leadgate.playbook.loader import parse_playbook
from leadgate.service.delivery import DeliverySettings, delivery_settings
from leadgate.service.outbox import DeliveryCounts, Outbox, collect
from leadgate.service.runtime import Runtime
from leadgate.service.scoring import utc_now
from leadgate.settings import SETTINGS
from leadgate.store.duckdb_store import DuckDBStore
from leadgate.store.lifecycle_store import LifecycleStore
from leadgate.store.outbox_store import STATUSES, OutboxStore
from leadgate.workspace import Workspace, example_playbook_text, init_workspace
from tests.cli_runs import run
from tests.receivers import Inbox, Receiver
from tests.service_fixtures import serving, wait_until
from tests.worlds import World

SECRET = "whsec_test_4f1c"
EXAMPLE_URL = "https://crm.example/hooks/leadgate"
KEY = 1
T1 = dt.datetime(2026, 11, 20, 9, 0)
T2 = dt.datetime(2026, 11, 20, 14, 0)
T3 = dt.datetime(2026, 11, 23, 10, 0)
DUE = dt.datetime(2026, 11, 20, 13, 0)


def playbook_notifying(*rules: str) -> Playbook:
    """The example playbook with these notify rules instead of its own."""
    text = example_playbook_text()
    head = text[: text.index("\nnotify:")]
    return parse_playbook(head + "\nnotify:\n" + "".join(f"  - {rule}\n" for rule in rules), "playbook.yaml")


# -- which facts make which notices (pure) ------------------------------------------------


def move(seq: int, source: str, target: str, at: dt.datetime, score: float | None = None) -> RecordedFact:
    fact = TransitionFact(KEY, Stage(source), Stage(target), Cause.RULE, "", "leadgate", at, 1, score=score)
    return RecordedFact(seq, f"t{seq}", fact)


def assign(seq: int, owner: str, at: dt.datetime, due: dt.datetime | None = None) -> RecordedFact:
    fact = AssignmentFact(KEY, owner, "enterprise", "rep", "rule", "round_robin", "", at, due, "routing")
    return RecordedFact(seq, f"a{seq}", fact)


def breach(seq: int, owner: str, at: dt.datetime) -> RecordedFact:
    return RecordedFact(seq, f"b{seq}", BreachFact(KEY, owner, DUE, at, "reassign"))


# Ann qualifies and is routed to carla (T1); carla misses the deadline and dev gets her (T2);
# dev rejects her, and the reason recycles her (T3).
ANN_STORY = [
    move(1, "inquiry", "mql", T1, score=80),
    assign(2, "carla", T1, DUE),
    move(3, "mql", "sal_pending", T1, score=80),
    breach(4, "carla", T2),
    assign(5, "dev", T2, DUE + dt.timedelta(days=1)),
    move(6, "sal_pending", "rejected", T3, score=82),
    move(7, "rejected", "recycled", T3, score=82),
]
STORY_RULES = (
    '{on: "stage becomes mql", send: email, to: owner}',
    '{on: "stage becomes sal_pending", send: webhook, url: "https://crm.example/a"}',
    "{on: assigned, send: webhook, url: 'https://crm.example/b'}",
    '{on: "sla breached", send: email, to: manager}',
    '{on: "stage becomes recycled", send: email, to: owner}',
)


def summary(notices: list[Notice]) -> list[tuple[str, str, str | None, str | None]]:
    return [(notice.notification_id, notice.destination, notice.owner, notice.stage) for notice in notices]


def test_each_rule_fires_on_its_facts_with_the_owner_of_that_moment() -> None:
    model = playbook_notifying(*STORY_RULES).model
    notices = notices_of({KEY: ANN_STORY}, {KEY: "ann"}, 0, model)
    assert summary(notices) == [
        ("t1-1", "carla", "carla", "mql"),  # routed in the same cycle: the mail goes to the rep she was routed to
        ("a2-3", "https://crm.example/b", "carla", "sal_pending"),
        ("t3-2", "https://crm.example/a", "carla", "sal_pending"),
        ("b4-4", "erin", "carla", "sal_pending"),  # the manager of enterprise; the owner who missed it
        ("a5-3", "https://crm.example/b", "dev", "sal_pending"),
        ("t7-5", "dev", "dev", "recycled"),  # released by the move: the rep who had her
    ]
    first = notices[0]
    assert (first.lead_id, first.event, first.previous_stage, first.team, first.score) == (
        "ann",
        "stage_changed",
        "inquiry",
        "enterprise",
        80,
    )
    assert (first.channel, first.trigger, first.fact_id, first.playbook_version) == (
        "email",
        "stage becomes mql",
        "t1",
        1,
    )
    assigned = notices[1]
    assert (assigned.event, assigned.due_at, assigned.score) == ("assigned", DUE, 80)


def test_facts_before_the_cursor_are_not_notified_again_but_still_say_who_had_the_lead() -> None:
    model = playbook_notifying(*STORY_RULES).model
    notices = notices_of({KEY: ANN_STORY}, {KEY: "ann"}, 3, model)
    assert [notice.notification_id for notice in notices] == ["b4-4", "a5-3", "t7-5"]
    assert notices[0].team == "enterprise" and notices[0].destination == "erin"


def test_facts_too_old_are_passed_over() -> None:
    model = playbook_notifying(*STORY_RULES).model
    notices = notices_of({KEY: ANN_STORY}, {KEY: "ann"}, 0, model, not_before=T2 + dt.timedelta(minutes=1))
    assert [notice.notification_id for notice in notices] == ["t7-5"]


def test_an_email_to_nobody_is_not_made_but_a_webhook_is() -> None:
    model = playbook_notifying(
        '{on: "stage becomes mql", send: email, to: owner}',
        '{on: "stage becomes mql", send: webhook, url: "https://crm.example/a"}',
        '{on: "stage becomes mql", send: email, to: "revops@acme.example"}',
    ).model
    notices = notices_of({KEY: [move(1, "inquiry", "mql", T1)]}, {KEY: "ann"}, 0, model)
    assert [(notice.notification_id, notice.destination) for notice in notices] == [
        ("t1-2", "https://crm.example/a"),
        ("t1-3", "revops@acme.example"),
    ]
    assert notices[0].owner is None


def test_the_payload_and_the_retry_delays() -> None:
    model = playbook_notifying(*STORY_RULES).model
    payload = payload_of(notices_of({KEY: ANN_STORY}, {KEY: "ann"}, 0, model)[2])
    assert payload == {
        "id": "t3-2",
        "event": "stage_changed",
        "trigger": "stage becomes sal_pending",
        "lead_id": "ann",
        "stage": "sal_pending",
        "previous_stage": "mql",
        "owner": "carla",
        "team": "enterprise",
        "score": 80,
        "at": "2026-11-20T09:00:00Z",
        "due_at": "2026-11-20T13:00:00Z",
        "fact_id": "t3",
        "playbook_version": 1,
    }
    delays = [retry_delay(attempt, 30, 3600).total_seconds() for attempt in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


# -- collecting from a real store -----------------------------------------------------------


def test_collecting_is_idempotent_and_follows_the_cursor(store: DuckDBStore) -> None:
    World(store).lead("ann").lead("bob").save()
    playbook = playbook_notifying(*STORY_RULES)
    lifecycle = LifecycleStore(store)
    lifecycle.record([item.fact for item in ANN_STORY[:3]])
    assert collect(store, playbook.model, T1) == 3
    assert collect(store, playbook.model, T1) == 0  # the cursor moved on with the inserts
    lifecycle.record([item.fact for item in ANN_STORY[3:5]])
    assert collect(store, playbook.model, T2) == 2
    outbox = OutboxStore(store)
    assert outbox.cursor() == 5
    outbox.set_cursor(0)  # even a lost cursor adds nothing twice: a notice's id is its fact and rule
    assert collect(store, playbook.model, T2) == 0
    assert [entry.notification_id for entry in outbox.entries(["pending"])] == ["t1-1", "a2-3", "t3-2", "b4-4", "a5-3"]


# -- delivering to a real receiver ----------------------------------------------------------


def notice(lead: str, key: int, seq: int, url: str) -> Notice:
    return Notice(
        notification_id=f"t{seq}-1",
        seq=seq,
        rule=1,
        lead_key=key,
        lead_id=lead,
        event="stage_changed",
        trigger="stage becomes mql",
        channel="webhook",
        destination=url,
        stage="mql",
        previous_stage="inquiry",
        owner=None,
        team=None,
        score=50.0,
        at=T1,
        due_at=None,
        fact_id=f"t{seq}",
        playbook_version=1,
    )


class Shared:
    """A store that the test and the delivery thread use in turn, as the server's lock makes them."""

    def __init__(self, store: DuckDBStore) -> None:
        self.store = store
        self.lock = threading.RLock()

    @contextmanager
    def locked(self) -> Iterator[DuckDBStore]:
        with self.lock:
            yield self.store

    def counts(self) -> dict[str, int]:
        with self.lock:
            return OutboxStore(self.store).counts()


@contextmanager
def outbox_of(shared: Shared, settings: DeliverySettings, playbook: Playbook | None = None) -> Iterator[Outbox]:
    """An outbox over a store, its delivery thread running until the block ends."""
    chosen = playbook or playbook_notifying(*STORY_RULES)
    outbox = Outbox(settings, shared.locked, lambda: chosen)
    outbox.start()
    try:
        yield outbox
    finally:
        outbox.stop()


def quick(**changes: object) -> DeliverySettings:
    values: dict[str, object] = {"webhook_secret": SECRET, "retry_seconds": 0.05, "max_attempts": 5, **changes}
    return DeliverySettings(**values)  # type: ignore[arg-type]


def verify(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does: recompute the HMAC of "TIMESTAMP.BODY" and compare."""
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def test_failed_webhooks_are_retried_in_order_per_lead_and_signed(store: DuckDBStore) -> None:
    with Receiver(failures=2, failing_lead="ann") as receiver:
        queued = [notice("ann", 1, 1, receiver.url), notice("bob", 2, 2, receiver.url)]
        queued += [notice("ann", 1, 3, receiver.url), notice("ann", 1, 4, receiver.url)]
        OutboxStore(store).add(queued, utc_now())
        shared = Shared(store)
        with outbox_of(shared, quick()) as outbox:
            wait_until(lambda: shared.counts()["delivered"] == 4, 15, "the four webhooks")
        assert outbox.counts.delivered == 4 and outbox.counts.failed == 2
        ann = [request.payload["id"] for request in receiver.requests if request.payload["lead_id"] == "ann"]
        assert ann == ["t1-1", "t1-1", "t1-1", "t3-1", "t4-1"]  # t3 waited until t1 got through
        assert [request.status for request in receiver.requests if request.payload["lead_id"] == "ann"][:3] == [
            500,
            500,
            200,
        ]
        assert [payload["id"] for payload in receiver.delivered() if payload["lead_id"] == "bob"] == ["t2-1"]
        for request in receiver.requests:
            assert verify(SECRET, request.headers["Leadgate-Signature"], request.body)
            assert not verify("another secret", request.headers["Leadgate-Signature"], request.body)
            assert request.headers["Content-Type"] == "application/json"
            assert request.headers["Leadgate-Notification-Id"] == request.payload["id"]
            stamp = int(request.headers["Leadgate-Signature"].split(",")[0].removeprefix("t="))
            assert abs(stamp - utc_now().replace(tzinfo=dt.UTC).timestamp()) < 300
    entries = OutboxStore(store).entries(["delivered"])
    assert [(entry.notification_id, entry.attempts) for entry in entries] == [
        ("t1-1", 3),
        ("t2-1", 1),
        ("t3-1", 1),
        ("t4-1", 1),
    ]


def test_a_new_notice_leaves_while_the_next_cycle_holds_the_lock(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker queues a cycle's notices and starts the next cycle at once; the hand-over gives
    the delivery thread time to read the new notices first (the wait stretched here so that a
    busy machine cannot fail the test), so the webhook goes out while that cycle holds the lock."""
    monkeypatch.setattr("leadgate.service.outbox.PICK_WAIT_SECONDS", 30.0)
    World(store).lead("ann").save()
    with Receiver() as receiver:
        playbook = playbook_notifying(f'{{on: "stage becomes mql", send: webhook, url: "{receiver.url}"}}')
        shared = Shared(store)
        with outbox_of(shared, quick(), playbook) as outbox:
            with shared.locked():  # a cycle qualifies ann, and its notice is queued before the lock goes
                LifecycleStore(store).record([replace(ANN_STORY[0].fact, at=utc_now())])
                queued = outbox.queue(store)
            outbox.hand_over(queued)
            with shared.locked():  # the next cycle
                wait_until(lambda: len(receiver.delivered()) == 1, 10, "the webhook, while the lock is held")
        assert [payload["lead_id"] for payload in receiver.delivered()] == ["ann"]


def test_a_receiver_that_never_answers_well_makes_dead_letters(store: DuckDBStore) -> None:
    with Receiver(failures=float("inf")) as receiver:
        OutboxStore(store).add([notice("ann", 1, 1, receiver.url), notice("ann", 1, 2, receiver.url)], utc_now())
        shared = Shared(store)
        with outbox_of(shared, quick(max_attempts=3, retry_seconds=0.01)):
            wait_until(lambda: shared.counts()["dead"] == 2, 15, "two dead letters")
        assert len(receiver.requests) == 6  # three attempts each, then no more
        dead = OutboxStore(store).entries(["dead"])
        assert {entry.last_error for entry in dead} == {"HTTP 500: no"}
        assert {entry.attempts for entry in dead} == {3}


def test_without_a_secret_webhooks_wait_and_go_once_it_is_set(store: DuckDBStore) -> None:
    with Receiver() as receiver:
        OutboxStore(store).add([notice("ann", 1, 1, receiver.url)], utc_now())
        shared = Shared(store)
        with outbox_of(shared, quick(webhook_secret="")) as outbox:
            assert outbox.deliver_due().delivered == 0
        assert receiver.requests == []
        assert OutboxStore(store).counts()["pending"] == 1
        with outbox_of(shared, quick()):
            wait_until(lambda: len(receiver.delivered()) == 1, 10, "the webhook")


def test_an_email_reaches_the_smtp_server(store: DuckDBStore) -> None:
    World(store).lead("ann").save()
    playbook = playbook_notifying(*STORY_RULES)
    now = utc_now()
    LifecycleStore(store).record([replace(item.fact, at=now) for item in ANN_STORY[:3]])  # recent: notified
    with Inbox() as inbox:
        settings = quick(
            smtp_host="127.0.0.1",
            smtp_port=inbox.port,
            smtp_tls="none",
            smtp_from="leadgate@acme.example",
            rep_email_domain="acme.example",
        )
        shared = Shared(store)
        with outbox_of(shared, settings, playbook) as outbox:
            with shared.locked():
                queued = outbox.queue(store)
            outbox.hand_over(queued)
            wait_until(lambda: len(inbox.messages) == 1, 10, "the e-mail")
    recipients, message = inbox.messages[0]
    assert recipients == ["carla@acme.example"]
    assert message["Subject"] == "[leadgate] Lead ann is now mql"
    assert message["From"] == "leadgate@acme.example"
    assert "Owner: carla (team enterprise)" in message.get_content()


# -- erasure ------------------------------------------------------------------------------


def test_erasing_a_person_erases_them_from_the_outbox(store: DuckDBStore) -> None:
    World(store).lead("ann").lead("bob").save()
    outbox = OutboxStore(store)
    outbox.add([notice("ann", 1, 1, "http://x.example"), notice("bob", 2, 2, "http://x.example")], T1)
    outbox.mark_failed("t1-1", "HTTP 404: no lead ann here", None)
    store.erase_person("ann", T2)
    ann, bob = outbox.entries(["pending", "dead"])
    assert ann.notice.lead_id == "erased-1" and payload_of(ann.notice)["lead_id"] == "erased-1"
    assert ann.last_error == "HTTP 404: no lead erased-1 here"
    rows = store._run("SELECT * FROM outbox WHERE lead_key = 1")
    assert "ann" not in json.dumps(rows, default=str)
    assert bob.notice.lead_id == "bob"


# -- settings -----------------------------------------------------------------------------


def defaults(**changes: object) -> dict[str, object]:
    return {setting.name: setting.default for setting in SETTINGS} | changes


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"smtp_tls": "maybe"}, "setting smtp_tls must be one of none, starttls, ssl (it is 'maybe')"),
        ({"notify_max_attempts": 0}, "setting notify_max_attempts must be 1 or more (it is 0)"),
        ({"notify_retry_seconds": 0.0}, "setting notify_retry_seconds must be more than 0 seconds"),
        ({"smtp_port": 70000}, "setting smtp_port must be a port number"),
        ({"smtp_host": "mail.acme.example"}, "setting smtp_from is needed once smtp_host is set"),
        ({"smtp_from": "leadgate"}, "setting smtp_from must be an e-mail address"),
        ({"rep_email_domain": "sales@acme.example"}, "setting rep_email_domain must be a domain"),
    ],
)
def test_a_bad_setting_is_a_clear_error(changes: dict[str, object], message: str) -> None:
    with pytest.raises(SettingError) as refused:
        delivery_settings(defaults(**changes))
    assert message in str(refused.value)


def test_the_server_does_not_start_with_a_bad_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = init_workspace(tmp_path / "ws")
    workspace.close()
    monkeypatch.setenv("LEADGATE_NOTIFY_MAX_ATTEMPTS", "0")
    with pytest.raises(SettingError, match="notify_max_attempts must be 1 or more"):
        Runtime(Workspace(workspace.root))
    monkeypatch.setenv("LEADGATE_NOTIFY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("LEADGATE_NOTIFY_RETRY_SECONDS", "soon")
    with pytest.raises(SettingError, match="'soon' is not a valid float"):
        Runtime(Workspace(workspace.root))


def test_defaults_are_valid_and_the_port_follows_tls() -> None:
    settings = delivery_settings(defaults())
    assert (settings.smtp_tls, settings.port) == ("starttls", 587)
    assert delivery_settings(defaults(smtp_tls="ssl")).port == 465
    assert delivery_settings(defaults(smtp_tls="none", smtp_port=2525)).port == 2525


# -- the command line ---------------------------------------------------------------------


def demo_request_world(store: DuckDBStore, lead: str = "ann") -> None:
    """A CTO of a large French software company who asked for a demo an hour ago: fast-tracked."""
    hour_ago = (utc_now() - dt.timedelta(hours=1)).isoformat()
    world = World(store).account("acme", employees=1500, industry="Software", country="FR")
    world.lead(lead, account="acme", role="CTO", budget_estimate=20000)
    world.did(lead, "demo_requested", hour_ago).save()


def test_the_cli_lists_dead_letters_and_retries_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Receiver(failures=float("inf")) as receiver:
        workspace = init_workspace(tmp_path / "ws")
        workspace.playbook_path.write_text(example_playbook_text().replace(EXAMPLE_URL, receiver.url), "utf-8")
        demo_request_world(workspace.store)
        workspace.close()
        ws = str(tmp_path / "ws")
        monkeypatch.setenv("LEADGATE_WEBHOOK_SECRET", SECRET)
        monkeypatch.setenv("LEADGATE_NOTIFY_MAX_ATTEMPTS", "1")
        assert run(capsys, "-w", ws, "cycle")[0] == 0  # facts written by the CLI, no server
        status, out, _ = run(capsys, "-w", ws, "webhooks", "deliver", "--json")
        assert status == 0
        assert json.loads(out) == {"collected": 2, "delivered": 0, "failed": 0, "dead": 1, "pending": 1}
        status, out, _ = run(capsys, "-w", ws, "webhooks", "list", "--json")
        listed = {item["status"]: item for item in json.loads(out)}
        assert listed["dead"]["trigger"] == "stage becomes sal_pending" and listed["dead"]["attempts"] == 1
        assert listed["dead"]["last_error"] == "HTTP 500: no"
        assert listed["pending"]["waiting_for"] == "smtp_host is not set: e-mails wait until it is"
        assert listed["pending"]["trigger"] == "stage becomes mql"
        dead_id = listed["dead"]["notification_id"]
        status, out, _ = run(capsys, "-w", ws, "webhooks", "list")
        assert status == 0 and dead_id in out

        receiver.recover()
        status, out, _ = run(capsys, "-w", ws, "webhooks", "retry", dead_id, "--json")
        assert (status, json.loads(out)) == (0, {"retried": [dead_id]})
        status, out, _ = run(capsys, "-w", ws, "webhooks", "deliver", "--json")
        assert json.loads(out) == {"collected": 0, "delivered": 1, "failed": 0, "dead": 0, "pending": 1}
        assert [payload["id"] for payload in receiver.delivered()] == [dead_id]
        assert receiver.delivered()[0]["lead_id"] == "ann"

        status, _, err = run(capsys, "-w", ws, "webhooks", "retry", dead_id)
        assert status == 2 and "is delivered, not dead" in err
        status, _, err = run(capsys, "-w", ws, "webhooks", "retry")
        assert status == 2 and "or give --all" in err
        status, _, err = run(capsys, "-w", ws, "webhooks", "retry", "t999-1")
        assert status == 2 and "no notification 't999-1'" in err
        monkeypatch.setenv("LEADGATE_SMTP_TLS", "tls")
        status, _, err = run(capsys, "-w", ws, "webhooks", "list")
        assert status == 2 and "smtp_tls must be one of none, starttls, ssl" in err


# -- the server, end to end ---------------------------------------------------------------


def segment_client(url: str, key: str) -> Client:
    return Client(write_key=key, host=url, sync_mode=True)


def request_a_demo(client: Client, lead: str) -> None:
    client.identify(lead, {"role": "CTO", "budget_estimate": 20000})
    client.group(lead, "acme", {"employees": 1500, "industry": "Software", "country": "FR"})
    client.track(lead, "Demo Requested")
    client.flush()


def test_a_segment_event_becomes_a_signed_webhook_and_an_email(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Receiver() as receiver, Inbox() as inbox:
        for name, value in {
            "WEBHOOK_SECRET": SECRET,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(inbox.port),
            "SMTP_TLS": "none",
            "SMTP_FROM": "leadgate@acme.example",
            "REP_EMAIL_DOMAIN": "acme.example",
        }.items():
            monkeypatch.setenv(f"LEADGATE_{name}", value)
        playbook_text = example_playbook_text().replace(EXAMPLE_URL, receiver.url)
        with serving(tmp_path / "ws", playbook_text=playbook_text) as served:
            request_a_demo(segment_client(served.url, served.keys["ingest"]), "ann")
            wait_until(lambda: receiver.delivered() and inbox.messages, 20, "the webhook and the e-mail")
    (request,) = receiver.requests
    assert verify(SECRET, request.headers["Leadgate-Signature"], request.body)
    payload = request.payload
    assert payload["event"] == "stage_changed" and payload["trigger"] == "stage becomes sal_pending"
    assert (payload["lead_id"], payload["stage"], payload["previous_stage"]) == ("ann", "sal_pending", "mql")
    assert payload["owner"] in ("carla", "dev") and payload["team"] == "enterprise"
    assert payload["fact_id"].startswith("t") and payload["playbook_version"] == 1
    ((recipients, message),) = inbox.messages
    assert recipients == [f"{payload['owner']}@acme.example"]
    assert message["Subject"] == "[leadgate] Lead ann is now mql"


def test_dead_letters_over_the_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADGATE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("LEADGATE_NOTIFY_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("LEADGATE_NOTIFY_RETRY_SECONDS", "0.05")
    with Receiver(failures=float("inf")) as receiver:
        playbook_text = example_playbook_text().replace(EXAMPLE_URL, receiver.url)
        with serving(tmp_path / "ws", playbook_text=playbook_text) as served:
            request_a_demo(segment_client(served.url, served.keys["ingest"]), "ann")
            with served.client("marketing") as marketing, served.client("admin") as admin:
                wait_until(lambda: marketing.get("/v1/webhooks/dead").json(), 20, "a dead letter")
                (dead,) = marketing.get("/v1/webhooks/dead").json()
                assert (dead["status"], dead["attempts"], dead["lead_id"]) == ("dead", 2, "ann")
                assert dead["payload"]["stage"] == "sal_pending" and dead["last_error"] == "HTTP 500: no"
                pending = admin.get("/v1/webhooks/pending").json()
                assert [item["waiting_for"] for item in pending] == ["smtp_host is not set: e-mails wait until it is"]

                with served.client("carla") as sales:
                    assert sales.get("/v1/webhooks/dead").status_code == 403
                refused = marketing.post(f"/v1/webhooks/{dead['notification_id']}/retry")
                assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
                missing = admin.post("/v1/webhooks/t999-1/retry")
                assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
                still_pending = admin.post(f"/v1/webhooks/{pending[0]['notification_id']}/retry")
                assert still_pending.status_code == 400 and "is pending, not dead" in still_pending.json()["detail"]

                receiver.recover()
                retried = admin.post(f"/v1/webhooks/{dead['notification_id']}/retry")
                assert retried.status_code == 200 and retried.json() == {"retried": [dead["notification_id"]]}
                wait_until(lambda: receiver.delivered(), 10, "the retried webhook")
                assert marketing.get("/v1/webhooks/dead").json() == []
                assert admin.post("/v1/webhooks/dead/retry").json() == {"retried": []}
    assert [payload["id"] for payload in receiver.delivered()] == [dead["notification_id"]]
    assert [request.status for request in receiver.requests] == [500, 500, 200]


# -- pruning delivered notices --------------------------------------------------------------

NOW = dt.datetime(2026, 12, 30, 12, 0)  # with 30 days kept: delivered before 2026-11-30 12:00 goes


def outbox_with_history(store: DuckDBStore) -> OutboxStore:
    """Five notices queued long ago: two delivered more than 30 days before NOW, one a minute
    less than 30 days before, one still pending (retrying), one dead."""
    outbox = OutboxStore(store)
    outbox.add([notice("ann", 1, seq, "http://x.example") for seq in range(1, 6)], dt.datetime(2026, 10, 1))
    outbox.mark_delivered("t1-1", dt.datetime(2026, 11, 30, 11, 59))  # 30 days and a minute ago
    outbox.mark_delivered("t2-1", dt.datetime(2026, 11, 1, 8, 0))
    outbox.mark_delivered("t3-1", dt.datetime(2026, 11, 30, 12, 1))  # a minute short of 30 days
    outbox.mark_failed("t4-1", "HTTP 503: busy", dt.datetime(2026, 12, 30, 12, 30))
    outbox.mark_failed("t5-1", "HTTP 500: no", None)
    return outbox


def remaining(outbox: OutboxStore) -> list[tuple[str, str]]:
    return [(entry.notification_id, entry.status) for entry in outbox.entries(list(STATUSES))]


def test_old_delivered_notices_are_deleted_and_the_rest_kept(store: DuckDBStore) -> None:
    outbox = outbox_with_history(store)
    assert outbox.prune_delivered(dt.datetime(2026, 11, 30, 12, 0)) == 2
    assert remaining(outbox) == [("t3-1", "delivered"), ("t4-1", "pending"), ("t5-1", "dead")]
    assert outbox.prune_delivered(dt.datetime(2026, 11, 30, 12, 0)) == 0


def test_the_outbox_prunes_when_it_delivers_at_most_once_an_hour(store: DuckDBStore) -> None:
    outbox = outbox_with_history(store)
    clock = [NOW]
    # nothing can be sent (no secret, no SMTP server): delivering only prunes
    worker = Outbox(DeliverySettings(keep_days=30), lambda: nullcontext(store), playbook_notifying, lambda: clock[0])
    try:
        assert worker.deliver_due() == DeliveryCounts()
        assert (worker.pruned, [entry for entry, _ in remaining(outbox)]) == (2, ["t3-1", "t4-1", "t5-1"])
        clock[0] = NOW + dt.timedelta(minutes=59)  # t3 is now past 30 days, but the last pruning is recent
        assert worker.prune() == 0
        clock[0] = NOW + dt.timedelta(hours=1)
        assert worker.prune() == 1
        assert remaining(outbox) == [("t4-1", "pending"), ("t5-1", "dead")]
    finally:
        worker.stop()


def test_keeping_delivered_notices_forever(store: DuckDBStore) -> None:
    outbox = outbox_with_history(store)
    worker = Outbox(DeliverySettings(keep_days=0), lambda: nullcontext(store), playbook_notifying, lambda: NOW)
    try:
        assert worker.prune() == 0
    finally:
        worker.stop()
    assert len(remaining(outbox)) == 5


def test_outbox_keep_days_is_read_and_checked() -> None:
    assert delivery_settings(defaults()).keep_days == 30
    assert delivery_settings(defaults(outbox_keep_days=7)).keep_days == 7
    with pytest.raises(SettingError, match=r"setting outbox_keep_days must be 0 \(keep forever\) or more \(it is -1\)"):
        delivery_settings(defaults(outbox_keep_days=-1))
