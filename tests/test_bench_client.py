"""The benchmark's load client (bench/service_load.py) speaks HTTP/1.1 itself: against a real
server, what it counts as acknowledged is what the server stored, and refusals are counted,
not taken for acknowledgements."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.service_fixtures import serving

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
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
