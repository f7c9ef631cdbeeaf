"""Which engine replays each playbook: one pass over the facts when the playbook allows it,
one scoring per checkpoint otherwise, with a note saying so.

Both give the same passes (tests/test_backtest_fast.py); the one-pass engine
(:mod:`leadgate.analytics.backtest_fast`) reads the history once instead of once per
checkpoint, and cannot express a few constructs
(:func:`leadgate.analytics.backtest_fast_plan.obstacles`, listed in docs/backtest.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Literal

import pyarrow as pa

from leadgate.analytics.backtest import PASS_SCHEMA_BASE, first_passes, routing_columns
from leadgate.analytics.backtest_fast import fast_passes
from leadgate.analytics.backtest_fast_plan import obstacles
from leadgate.playbook.compiled import Playbook
from leadgate.store.base import Store

Progress = Callable[[int, int], None]  # (steps done, steps in all)
Engine = Literal["auto", "one_pass", "per_checkpoint"]


def replay(
    store: Store,
    playbooks: Sequence[Playbook],
    checkpoints: list[dt.datetime],
    progress: Progress | None = None,
    engine: Engine = "auto",
    labels: Sequence[str] = (),
) -> tuple[list[pa.Table], list[str]]:
    """Each playbook's first passes (as :func:`~leadgate.analytics.backtest.first_passes` gives
    them), and a note for each playbook replayed one checkpoint at a time, naming it by its
    label (``labels``, in the order of ``playbooks``) or else by its name and version."""
    blocked = {index: obstacles(playbook, checkpoints) for index, playbook in enumerate(playbooks)}
    if engine == "per_checkpoint":
        blocked = {index: reasons or ["asked for"] for index, reasons in blocked.items()}
    elif engine == "one_pass":
        blocked = {index: [] for index in blocked}
    quick = [index for index, reasons in blocked.items() if not reasons]
    slow = [index for index, reasons in blocked.items() if reasons]
    total = len(quick) + len(slow) * len(checkpoints)
    done = 0
    found: dict[int, pa.Table] = {}
    if quick:
        for index, passes in zip(quick, fast_passes(store, [playbooks[i] for i in quick], checkpoints), strict=True):
            found[index] = _as_first_passes(passes, playbooks[index], checkpoints)
        done = len(quick)
        if progress is not None:
            progress(done, total)
    notes = []
    for index in slow:
        playbook = playbooks[index]
        label = labels[index] if labels else f"{playbook.name} v{playbook.version}"
        notes.append(f"{label} was replayed one checkpoint at a time: " + "; ".join(blocked[index]))
        offset = done

        def step(finished: int, _: int, offset: int = offset) -> None:
            if progress is not None:
                progress(offset + finished, total)

        found[index] = first_passes(store, playbook, checkpoints, step)
        done += len(checkpoints)
    return [found[index] for index in range(len(playbooks))], notes


def _as_first_passes(rows: list[dict[str, object]], playbook: Playbook, checkpoints: list[dt.datetime]) -> pa.Table:
    """The one-pass rows in the shape of :func:`first_passes` (the checkpoint's time for ``k``)."""
    flags = routing_columns(playbook)
    schema = pa.schema([*PASS_SCHEMA_BASE, *((flag, pa.bool_()) for flag in flags)])
    ordered = sorted(rows, key=lambda row: (row["k"], row["lead_key"]))  # type: ignore[return-value]
    found = [{**row, "passed_at": checkpoints[int(row["k"])]} for row in ordered]  # type: ignore[call-overload]
    return pa.Table.from_pylist(found, schema=schema)
