"""bench/cycle_cost.py commits bench messages through the intake's path and times the cycles
that follow: what it counts must be what the cycles did."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from leadgate.workspace import init_workspace

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
from cycle_cost import measure


@pytest.mark.slow
def test_the_cycle_cost_bench_times_cycles_over_the_messages_it_committed(tmp_path: Path) -> None:
    workspace = init_workspace(tmp_path / "ws")
    args = argparse.Namespace(sizes=[100, 300], rounds=2, threads=1, leads=50)
    results = measure(workspace, args)
    store = workspace.open_store()
    try:
        stored = store.count("events") + store.count("traits") + store.count("identities")
        cycles = store.count("scoring_runs")
    finally:
        store.close()
    assert cycles == 2 * 2  # one cycle after each commit, in both rounds
    assert stored > 0
    one, three = results["sizes"][100], results["sizes"][300]
    assert 0 < one["leads"] <= 50 and 0 < three["leads"] <= 50  # the leads the messages name, rescored
    assert one["wall_ms"] > 0 and one["cpu_ms"] > 0 and set(one["steps_ms"]) >= {"scoring", "moving", "routing"}
    # a line through two sizes passes through both
    assert results["fixed_ms"] + 100 * results["per_message_us"] / 1000 == pytest.approx(one["wall_ms"], abs=0.01)
    assert results["fixed_ms"] + 300 * results["per_message_us"] / 1000 == pytest.approx(three["wall_ms"], abs=0.01)
