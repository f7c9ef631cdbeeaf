"""The backtest on a generated year: the issue's target is 50M events replayed in at most 60 s.

    python bench/backtest.py [--events N] [--leads N] [--accounts N] [--every day|week] [--regenerate] [--json]

The facts are generated once into ``bench-workspace/backtest/`` (the generator of
``bench/run.py``, kept apart from its store) and reused while the size matches. The bench
playbook is the current playbook; the candidate is the same with a stricter MQL threshold. The
generated store has no hand-off facts, so no conversions: what is timed is the replay (both
playbooks at every checkpoint of the year) and the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from generate import AS_OF, DatasetSize
from workspace import open_store, prepare

from leadgate.analytics.backtest import Window
from leadgate.analytics.backtest_figures import run_backtest
from leadgate.playbook.loader import parse_playbook

PLAYBOOK = Path(__file__).with_name("playbook.yaml")
DEFAULT_WORKSPACE = Path("bench-workspace") / "backtest"
CURRENT_MQL, STRICTER_MQL = "fit >= 30 and engagement >= 40", "fit >= 30 and engagement >= 60"
TARGET_SECONDS, TARGET_EVENTS = 60.0, 50_000_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=TARGET_EVENTS, help="events to generate (default 50M)")
    parser.add_argument("--leads", type=int, default=1_000_000, help="leads to generate (default 1M)")
    parser.add_argument("--accounts", type=int, default=200_000, help="accounts to generate (default 200k)")
    parser.add_argument("--every", choices=("day", "week"), default="week", help="checkpoint spacing (default week)")
    parser.add_argument("--workspace", type=Path, default=DEFAULT_WORKSPACE, help="where the generated store lives")
    parser.add_argument("--regenerate", action="store_true", help="generate the data even if it is cached")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = DatasetSize(args.events, args.leads, args.accounts)
    prepared = prepare(args.workspace, size, args.regenerate)
    text = PLAYBOOK.read_text(encoding="utf-8")
    current = parse_playbook(text, str(PLAYBOOK))
    candidate = parse_playbook(text.replace(CURRENT_MQL, STRICTER_MQL), "stricter.yaml")
    window = Window(AS_OF.replace(year=AS_OF.year - 1), AS_OF, args.every)
    store = open_store(args.workspace)
    try:
        started = time.perf_counter()
        report = run_backtest(store, current, candidate, window)
        seconds = time.perf_counter() - started
    finally:
        store.close()
    result = {
        "events": args.events,
        "leads": args.leads,
        "accounts": args.accounts,
        "every": args.every,
        "checkpoints": report.checkpoints,
        "seconds": round(seconds, 2),
        "seconds_per_checkpoint_and_playbook": round(seconds / (2 * report.checkpoints), 3),
        "passed_current": report.current.passed,
        "passed_candidate": report.candidate.passed,
        "engine": "; ".join(report.notes) or "one pass for both playbooks",
        "generated": prepared["generated"],
        "target": f"{TARGET_EVENTS:,} events in <= {TARGET_SECONDS:.0f} s",
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, value in result.items():
            print(f"{name:>38}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
