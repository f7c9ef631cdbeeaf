"""The load processes of bench/service.py: clients sending Segment batches, and the probe.

A client keeps ``in_flight`` requests going, each a ``/v1/batch`` of 100 messages, and
measures each request's latency. The probe sends, once a second, the messages of a new lead
that qualifies at once (a demo request from a CTO of a 1,500-person software company) and
reads the leads awaiting acceptance until it shows an owner.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

RESULT_MARK = "BENCH-RESULT "
BATCH_SIZE = 100
POLL_SECONDS = 0.2  # between two reads of the probe leads: the resolution of their latency
LEADS_PATH = "/v1/leads"
POOL_SIZE = 50  # request bodies each client thread renders before the run, and sends in turn
ID_MARK, TIME_MARK = b"#request#", b"#sent-at#"  # filled in as a body is sent

PAGES = ("/", "/pricing", "/product/analytics", "/blog/lead-scoring-101", "/docs/getting-started", "/careers")
TRACKS = (
    "Whitepaper Downloaded",
    "Webinar Registered",
    "Webinar Attended",
    "Email Clicked",
    "Feature Used",
    "Session Started",
    "Trial Started",
)
ROLES = ("CTO", "Engineer", "Analyst", "Manager", "VP", "Student", "Developer", "CFO", "Consultant")
INDUSTRIES = ("Software", "Fintech", "Insurance", "Retail", "Manufacturing", "Education")
COUNTRIES = ("FR", "DE", "UK", "US", "BE", "ES", "IT", "BR")
CONTEXT = {
    "library": {"name": "analytics-python", "version": "2.3.4"},
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "locale": "fr-FR",
}


class MessageMaker:
    """Segment messages of one stream: about 55% page, 30% track, 10% identify, 5% group.

    Some leads are far more active than others (a lead is drawn with a squared uniform), as on
    a real site."""

    def __init__(self, stream: int, leads: int) -> None:
        self.stream = stream
        self.leads = leads
        self.random = random.Random(stream)

    def batch(self) -> tuple[bytes, int]:
        """One request body, its message ids and times left as ID_MARK and TIME_MARK (see
        :class:`BatchPool`), and how many of its messages are events (track, page)."""
        messages = [self.message(f"{ID_MARK.decode()}-{index}") for index in range(BATCH_SIZE)]
        events = sum(1 for message in messages if message["type"] in ("track", "page"))
        return orjson.dumps({"batch": messages, "sentAt": TIME_MARK.decode()}), events

    def message(self, number: str) -> dict[str, Any]:
        draw = self.random.random()
        lead = int(self.leads * self.random.random() ** 2)
        message: dict[str, Any] = {
            "messageId": f"s{self.stream}-{number}",
            "userId": f"lead-{lead}",
            "originalTimestamp": TIME_MARK.decode(),
            "context": {**CONTEXT, "ip": f"203.0.113.{lead % 250}"},
        }
        if draw < 0.55:
            path = self.random.choice(PAGES)
            page = {"path": path, "url": f"https://www.acme.example{path}", "title": "Acme", "referrer": ""}
            return {**message, "type": "page", "name": path.strip("/") or "home", "properties": page}
        if draw < 0.85:
            event = self.random.choice(TRACKS)
            properties = {"feature": self.random.choice(("reports", "api", "export")), "plan": "trial"}
            return {**message, "type": "track", "event": event, "properties": properties}
        if draw < 0.95:
            traits = {
                "email": f"lead-{lead}@company{lead % 5000}.example",
                "firstName": "Sam",
                "role": self.random.choice(ROLES),
                "budget_estimate": self.random.choice((0, 5000, 20000, 50000)),
            }
            return {**message, "type": "identify", "traits": traits}
        traits = {
            "name": f"Company {lead % 5000}",
            "employees": self.random.choice((8, 60, 250, 1500)),
            "industry": self.random.choice(INDUSTRIES),
            "country": self.random.choice(COUNTRIES),
        }
        return {**message, "type": "group", "groupId": f"account-{lead % 5000}", "traits": traits}


class BatchPool:
    """Request bodies rendered before the run: sending one costs two byte replacements (a
    unique request number into its message ids, the time of sending into its times), so the
    clients, which share the server's two cores, spend their CPU on HTTP, not on building
    messages. Message ids are unique across streams and requests."""

    def __init__(self, maker: MessageMaker, size: int = POOL_SIZE) -> None:
        self.bodies = [maker.batch() for _ in range(size)]
        self.sent = 0

    def next(self) -> tuple[bytes, int]:
        body, events = self.bodies[self.sent % len(self.bodies)]
        self.sent += 1
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return body.replace(ID_MARK, str(self.sent).encode()).replace(TIME_MARK, now.encode()), events


def run_client(
    url: str, key: str, stream: int, leads: int, duration: float, in_flight: int, rate: float = 0.0
) -> dict[str, Any]:
    """``in_flight`` connections posting batches for ``duration`` seconds; what was acknowledged
    and how fast.

    With ``rate`` 0 each connection sends its next batch as soon as the last is answered (a
    closed loop: the server's pace sets the load). With ``rate`` (messages a second), a batch
    is due every ``BATCH_SIZE / rate`` seconds whatever the answers, and goes out on the first
    free connection: an open loop, as independent senders load a real server. Its latency is
    then counted from when it was due, so a batch that waited for a free connection counts
    the wait (no "coordinated omission"); batches still waiting when the run ends are counted
    as ``unsent``, not left out.

    The connections share one event loop and speak HTTP/1.1 over their sockets themselves
    (:class:`BatchSender`): the clients run on the server's two cores, and a general-purpose
    client in threads spent ~1.4 ms of CPU a request, a quarter of a core at this load, that
    clients on other machines would not take from the server."""
    latencies: list[float] = []
    totals = {"messages": 0, "events": 0, "failed": 0, "unsent": 0}
    senders = [BatchSender(url, key, BatchPool(MessageMaker(stream * 1000 + slot, leads))) for slot in range(in_flight)]
    started = time.monotonic()
    deadline = started + duration

    async def answered_then_next() -> float | None:
        """Closed loop: the next batch is due now, until the run ends."""
        return time.perf_counter() if time.monotonic() < deadline else None

    def paced(due_batches: asyncio.Queue[float | None]) -> Callable[[], Awaitable[float | None]]:
        """Open loop: the next batch from the queue :func:`pace` fills; those a connection takes
        only after the run's end are counted as unsent."""

        async def next_due() -> float | None:
            while (due := await due_batches.get()) is not None:
                if time.monotonic() < deadline:
                    return due
                totals["unsent"] += 1
            return None

        return next_due

    async def send(sender: BatchSender, next_due: Callable[[], Awaitable[float | None]]) -> None:
        try:
            while (due := await next_due()) is not None:
                body, events = sender.pool.next()
                status = await sender.post(body)
                if 200 <= status < 300:
                    latencies.append((time.perf_counter() - due) * 1000)
                    totals["messages"] += BATCH_SIZE
                    totals["events"] += events
                else:
                    totals["failed"] += 1
        finally:
            sender.close()

    async def pace(due_batches: asyncio.Queue[float | None]) -> None:
        """A batch due every BATCH_SIZE / rate seconds until the run ends, then one stop for each sender."""
        first, interval, number = time.perf_counter(), BATCH_SIZE / rate, 0
        while number * interval < duration:
            due = first + number * interval
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            due_batches.put_nowait(due)
            number += 1
        for _ in senders:
            due_batches.put_nowait(None)

    async def send_all() -> None:
        if rate <= 0:
            await asyncio.gather(*(send(sender, answered_then_next) for sender in senders))
            return
        due_batches: asyncio.Queue[float | None] = asyncio.Queue()
        next_due = paced(due_batches)
        await asyncio.gather(pace(due_batches), *(send(sender, next_due) for sender in senders))

    asyncio.run(send_all())
    seconds = time.monotonic() - started
    return {**totals, "seconds": seconds, "latencies_ms": latencies, "cpu_seconds": time.process_time()}


class BatchSender:
    """One keep-alive HTTP/1.1 connection posting ``/v1/batch`` bodies with the write key (HTTP
    basic auth, as Segment's libraries send it); the answer's status, its body read and dropped."""

    def __init__(self, url: str, key: str, pool: BatchPool) -> None:
        address = urlsplit(url)
        self.host, self.port = address.hostname or "127.0.0.1", address.port or 80
        credentials = base64.b64encode(f"{key}:".encode()).decode()
        self.head = (
            f"POST /v1/batch HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: Basic {credentials}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        self.pool = pool
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes) -> int:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        writer.write(self.head + b"%d\r\n\r\n" % len(body) + body)
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        fields = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in head[1:])}
        if "content-length" not in fields:
            raise RuntimeError(f"bench: an answer without Content-Length ({head[0]})")
        await reader.readexactly(int(fields["content-length"]))
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


def probe_messages(lead: str, now: str) -> list[dict[str, Any]]:
    """A lead that qualifies at once: fit 60 (>= 20) and a demo request (the fast track to MQL)."""
    account = f"probe-account-{lead}"
    traits = {"email": f"{lead}@acme.example", "role": "CTO", "budget_estimate": 20000}
    company = {"employees": 1500, "industry": "Software", "country": "FR"}
    return [
        {"type": "identify", "messageId": f"{lead}-identify", "userId": lead, "traits": traits, "timestamp": now},
        {"type": "group", "messageId": f"{lead}-group", "userId": lead, "groupId": account, "traits": company},
        {"type": "track", "messageId": f"{lead}-demo", "userId": lead, "event": "Demo Requested", "timestamp": now},
    ]


def assignments_readable(url: str) -> bool:
    """Whether the server lists leads (``GET /v1/leads``, filtered by stage), where the probe sees owners."""
    paths = httpx.get(f"{url}/openapi.json", timeout=30).json()["paths"]
    return "get" in paths.get(LEADS_PATH, {})


def assigned_probes(reader: httpx.Client, pending: dict[str, float]) -> set[str]:
    """The pending probe leads that have an owner now.

    One listing of the newest leads awaiting acceptance in the probes' team serves every
    pending probe (``GET /v1/leads/{id}`` would explain each lead's score too, at up to a
    second a call)."""
    query = {"stage": "sal_pending", "team": "enterprise", "sort": "since", "order": "desc", "limit": 200}
    response = reader.get(LEADS_PATH, params=query)
    response.raise_for_status()
    return {row["lead_id"] for row in response.json()["leads"] if row["owner"] and row["lead_id"] in pending}


def run_probe(url: str, key: str, reader_key: str, duration: float, hook_port: int) -> dict[str, Any]:
    """A new qualifying lead every second; milliseconds from its demo request to its assignment
    (as ``GET /v1/leads`` shows it, read every POLL_SECONDS) and to the webhook that notifies it
    (received on ``hook_port`` by the test suite's receiver: the repository's root is on the path)."""
    from tests.receivers import Receiver

    readable = assignments_readable(url)
    pending: dict[str, float] = {}
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    sent = 0
    started = time.monotonic()
    reader_headers = {"Authorization": f"Bearer {reader_key}"}
    with (
        Receiver(port=hook_port) as hooks,
        httpx.Client(base_url=url, auth=(key, ""), timeout=60) as ingest,
        httpx.Client(base_url=url, headers=reader_headers, timeout=60) as reader,
    ):
        while True:
            elapsed = time.monotonic() - started
            if elapsed < duration and elapsed >= sent:
                lead = f"probe-{sent}"
                now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
                pending[lead] = sent_at[lead] = time.monotonic()
                ingest.post("/v1/batch", json={"batch": probe_messages(lead, now)}).raise_for_status()
                sent += 1
            if readable and pending:
                for lead in assigned_probes(reader, pending):
                    latencies.append((time.monotonic() - pending.pop(lead)) * 1000)
            if elapsed >= duration:
                unnotified = set(sent_at) - set(hooks.first_arrivals())
                if not ((readable and pending) or unnotified) or elapsed > duration + 10:
                    break
            time.sleep(POLL_SECONDS)
        arrivals = hooks.first_arrivals()
    notified = {lead: (arrivals[lead] - at) * 1000 for lead, at in sent_at.items() if lead in arrivals}
    return {
        "probes": sent,
        "events": sent,
        "assignment_ms": latencies,
        "unassigned": len(pending),
        "notification_ms": list(notified.values()),
        "webhooks_received": len(arrivals),
        "cpu_seconds": time.process_time(),
    }


def percentile(ordered: list[float], rank: float) -> float:
    """The nearest-rank percentile of sorted values."""
    return ordered[max(0, min(len(ordered) - 1, math.ceil(rank / 100 * len(ordered)) - 1))]
