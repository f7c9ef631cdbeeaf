"""The benchmark's load client (bench/service_load.py) speaks HTTP/1.1 itself: against a real
server, what it counts as acknowledged is what the server stored, and refusals are counted,
not taken for acknowledgements."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.service_fixtures import serving

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
from service import parse_args, summarise, table
from service_load import BATCH_SIZE, run_client


def test_what_the_bench_client_counts_as_acknowledged_is_stored(tmp_path: Path) -> None:
    with serving(tmp_path / "ws", keys={"ingest": ("ingest", None, None)}) as served:
        sent = run_client(served.url, served.keys["ingest"], stream=1, leads=50, duration=1.0, in_flight=3)
        with served.runtime.locked() as store:
            events = store.count("events")
    assert sent["failed"] == 0
    assert sent["messages"] >= 3 * BATCH_SIZE  # every connection was answered at least once
    assert len(sent["latencies_ms"]) == sent["messages"] // BATCH_SIZE
    assert 0 < sent["events"] == events


def test_the_bench_client_counts_refused_requests_as_failed(tmp_path: Path) -> None:
    with serving(tmp_path / "ws", keys={"ingest": ("ingest", None, None)}) as served:
        sent = run_client(served.url, "lg_00000000_wrong", stream=1, leads=50, duration=0.5, in_flight=2)
        with served.runtime.locked() as store:
            events = store.count("events")
    assert sent["messages"] == 0 and sent["events"] == 0 and events == 0
    assert sent["failed"] >= 2


def bench_results(rate: float, unsent: int, notification_ms: list[float]) -> dict[str, Any]:
    """What the bench reports for one client and the probe, as run_bench completes it."""
    args = argparse.Namespace(duration=60.0, clients=1, in_flight=1, rate=rate, postgres=False, workers=1)
    client = {"latencies_ms": [50.0], "messages": 100, "seconds": 60.0, "failed": 0, "unsent": unsent, "events": 85}
    probe = {
        "events": 5,
        "probes": len(notification_ms),
        "webhooks_received": 7,
        "assignment_ms": [],
        "notification_ms": notification_ms,
    }
    results = summarise(args, [client], probe, [(0.0, 100), (30.0, 100), (60.0, 100)], 100, 90, True, ((0.0,), (0.0,)))
    durations = {"p50_ms": 1.0, "p99_ms": 1.0, "max_ms": 1.0}
    results["server"] = {"commits": 1, "cycles": 1, "checkpoints": 0, "leads_rescored": 1, "leads_folded": 0}
    results["server"] |= {"commit_ms": durations, "cycle_ms": durations, "checkpoint_ms": None}
    results["cpu_seconds"] = {"server": 1.0, "clients": 1.0, "probe": 1.0}
    return results


def test_the_bench_counts_the_notifications_that_missed_the_target() -> None:
    """With 60 probes a run, the p99 is the slowest probe or the next; the count of those over
    the limit (1 s) says how many missed it."""
    results = bench_results(0.0, 0, [400.0, 2_500.0, 1_000.0, 1_000.5, 900.0])  # the limit itself is met
    assert results["notification_ms"]["over_limit"] == 2
    assert "webhook received for 5 of 5 probe leads, 2 of them after more than 1 s" in table(results)


def test_the_bench_says_what_load_it_offered_and_what_it_could_not_send() -> None:
    closed = table(bench_results(0.0, 0, [400.0]))
    assert "each sending again once answered" in closed and "due but not sent" not in closed
    opened = bench_results(12_000.0, 3, [400.0])
    assert opened["settings"]["rate"] == 12_000.0 and opened["unsent_requests"] == 3
    assert "12,000 messages a second offered" in table(opened)
    assert "(0 failed, 3 due but not sent: no connection was free before the run ended)" in table(opened)


@contextmanager
def slow_receiver(answer_seconds: float) -> Iterator[str]:
    """A real HTTP/1.1 server on a socket that answers every request after ``answer_seconds``."""
    loop = asyncio.new_event_loop()
    writers: list[asyncio.StreamWriter] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
                await reader.readexactly(int(head.split("content-length:")[1].split("\r\n")[0]))
                await asyncio.sleep(answer_seconds)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def shut(server: asyncio.Server) -> None:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()

    server = loop.run_until_complete(asyncio.start_server(answer, "127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        asyncio.run_coroutine_threadsafe(shut(server), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_an_open_loop_client_counts_the_wait_for_a_free_connection_and_every_batch_due() -> None:
    """At a given rate, a batch is due every 100 / rate seconds whether or not the last was
    answered. One connection to a server that answers in 0.2 s, and a batch due every 0.1 s:
    each batch waits 0.1 s longer than the one before, and its latency says so (counted from
    when it was due, not from when a connection was free); those still waiting at the end are
    counted as unsent."""
    with slow_receiver(0.2) as url:
        sent = run_client(url, "key", stream=1, leads=50, duration=1.0, in_flight=1, rate=10 * BATCH_SIZE)
    answered = sent["messages"] // BATCH_SIZE
    assert answered + sent["unsent"] + sent["failed"] == 10  # every batch due in the second is accounted for
    assert 3 <= answered <= 6 and sent["failed"] == 0
    latencies = sent["latencies_ms"]
    assert latencies[0] >= 200  # the answer's own time
    waits = [later - earlier for earlier, later in itertools.pairwise(latencies)]
    assert all(wait >= 50 for wait in waits), latencies  # ~100 ms more each: the queue grows


def test_a_closed_loop_client_sends_again_once_answered() -> None:
    with slow_receiver(0.2) as url:
        sent = run_client(url, "key", stream=1, leads=50, duration=1.0, in_flight=1)
    latencies = sent["latencies_ms"]
    assert sent["unsent"] == 0 and 3 <= len(latencies) <= 6
    assert min(latencies) >= 200 and latencies[-1] < latencies[0] + 150  # no queue: each its own answer's time


def test_the_bench_refuses_a_negative_rate(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--rate", "-5"])
    assert "--rate -5: a rate is 0 (closed loop) or more messages a second" in capsys.readouterr().err
