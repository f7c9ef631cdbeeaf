"""The benchmark's load client (bench/service_load.py) speaks HTTP/1.1 itself: against a real
server, what it counts as acknowledged is what the server stored, and refusals are counted,
not taken for acknowledgements."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.service_fixtures import serving

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
from service import summarise, table
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


def test_the_bench_counts_the_notifications_that_missed_the_target() -> None:
    """With 60 probes a run, the p99 is the slowest probe or the next; the count of those over
    the limit (1 s) says how many missed it."""
    args = argparse.Namespace(duration=60.0, clients=1, in_flight=1, postgres=False, workers=1)
    client = {"latencies_ms": [50.0], "messages": 100, "seconds": 60.0, "failed": 0, "events": 85}
    probe = {
        "events": 5,
        "probes": 5,
        "webhooks_received": 7,
        "assignment_ms": [],
        "notification_ms": [400.0, 2_500.0, 1_000.0, 1_000.5, 900.0],  # the limit itself is met
    }
    results = summarise(args, [client], probe, [(0.0, 100), (30.0, 100), (60.0, 100)], 100, 90, True, ((0.0,), (0.0,)))
    assert results["notification_ms"]["over_limit"] == 2
    durations = {"p50_ms": 1.0, "p99_ms": 1.0, "max_ms": 1.0}
    results["server"] = {"commits": 1, "cycles": 1, "checkpoints": 0, "leads_rescored": 1, "leads_folded": 0}
    results["server"] |= {
        "commit_ms": durations,
        "cycle_ms": durations,
        "checkpoint_ms": None,
    }  # as run_bench adds them
    results["cpu_seconds"] = {"server": 1.0, "clients": 1.0, "probe": 1.0}
    assert "webhook received for 5 of 5 probe leads, 2 of them after more than 1 s" in table(results)
