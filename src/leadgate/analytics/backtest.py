"""The backtest's replay: when would a playbook have passed each lead, had it been in force?

A playbook *passes* a lead at the first checkpoint at which its MQL or PQL condition (or a
shortcut into one of them) holds, i.e. the first checkpoint where the scoring engine's
``qualifies_as`` is ``mql`` or ``pql``; the stage it passes into is the one at that checkpoint.
Checkpoints are ``start``, then every day or week after it, then ``end``: a lead passed between
two checkpoints is seen at the later one, so pass times are as coarse as the checkpoints, and
a lead whose condition holds only between two checkpoints (a short burst that decays) is not
passed at all.

What the replay ignores: human decisions cannot be replayed (nobody accepted or rejected the
leads a candidate would have passed), so there is no recycling, cool-off or engagement reset,
and a lead passes once. The recorded decisions and outcomes are used only as the truth the
passes are judged against (see :mod:`leadgate.analytics.backtest_outcomes`).

The work is set-based: each checkpoint scores every lead not passed yet with
:func:`~leadgate.scoring.engine.score_leads` and keeps the ones that pass there; no Python code
runs per lead. The query is compiled once per playbook, with the checkpoint and the leads
already passed read from tables registered for each run (compiling costs more than running
over a small history).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from leadgate.errors import UserError
from leadgate.playbook.compiled import Playbook
from leadgate.scoring.engine import routing_column, score_leads
from leadgate.scoring.moment import moment_parameter, moment_row
from leadgate.store.base import Store

Every = Literal["day", "week"]
STEPS: dict[str, dt.timedelta] = {"day": dt.timedelta(days=1), "week": dt.timedelta(days=7)}
MAX_CHECKPOINTS = 5000  # about fourteen years of days: more is a typo in --from or --to

Progress = Callable[[int, int], None]  # (checkpoints done, checkpoints in all)
MOMENT = "backtest_moment"  # the checkpoint a run of the kept query is for (one row)
PASSED = "backtest_passed"  # the leads passed at an earlier checkpoint


@dataclass(frozen=True)
class Window:
    """The replayed span (naive UTC) and how often the playbooks are evaluated within it."""

    start: dt.datetime
    end: dt.datetime
    every: Every = "week"

    def __post_init__(self) -> None:
        if self.every not in STEPS:
            raise UserError(f"--every {self.every!r}: write day or week")
        if self.start >= self.end:
            raise UserError(
                f"--from {self.start:%Y-%m-%d %H:%M:%S} is not before --to {self.end:%Y-%m-%d %H:%M:%S}: "
                "the backtest needs a window that moves forward"
            )

    def checkpoints(self) -> list[dt.datetime]:
        """``start``, every step after it, and ``end`` (always the last)."""
        step = STEPS[self.every]
        count = int((self.end - self.start) / step)
        if count + 2 > MAX_CHECKPOINTS:
            raise UserError(
                f"the window {self.start:%Y-%m-%d} to {self.end:%Y-%m-%d} makes {count + 2:,} checkpoints "
                f"(at most {MAX_CHECKPOINTS:,}); "
                + ("use --every week or " if self.every == "day" else "")
                + "give a shorter window with --from and --to (the default window runs from the first stored "
                "fact, so a fact dated far in the past makes it long)"
            )
        moments = [self.start + step * index for index in range(count + 1)]
        if moments[-1] < self.end:
            moments.append(self.end)
        return moments


PASS_SCHEMA_BASE = [
    ("lead_key", pa.int64()),
    ("lead_id", pa.string()),
    ("passed_at", pa.timestamp("us")),
    ("stage", pa.string()),
    ("account_owner", pa.string()),
]


def routing_columns(playbook: Playbook) -> list[str]:
    """The scored table's flags of the routing rules that have a condition."""
    return [routing_column(index) for index, rule in enumerate(playbook.model.routing) if rule.when is not None]


def first_passes(
    store: Store, playbook: Playbook, checkpoints: list[dt.datetime], progress: Progress | None = None
) -> pa.Table:
    """One row per lead the playbook passes at one of ``checkpoints``: ``lead_key``, ``lead_id``,
    ``passed_at`` (the checkpoint), ``stage`` (mql or pql), ``account_owner`` and the routing
    flags ``r_<i>`` as they were then (routing happens when a lead passes)."""
    flags = routing_columns(playbook)
    schema = pa.schema([*PASS_SCHEMA_BASE, *((flag, pa.bool_()) for flag in flags)])
    found: list[dict[str, object]] = []
    passed: set[int] = set()
    query = ""
    for done, moment in enumerate(checkpoints, start=1):
        keys = pa.table({"lead_key": pa.array(sorted(passed), pa.int64())})
        with store.parameters(MOMENT, moment_row(moment)), store.parameters(PASSED, keys):
            query = query or _passes_query(store, playbook, flags)
            fresh = store.query_rows(query)
        for row in fresh:
            passed.add(int(row["lead_key"]))
            found.append({**row, "passed_at": moment, "stage": row.pop("qualifies_as")})
        if progress is not None:
            progress(done, len(checkpoints))
    return pa.Table.from_pylist(found, schema=schema)


def _passes_query(store: Store, playbook: Playbook, flags: list[str]) -> str:
    """The SQL of the leads the playbook passes at the registered moment, among those not passed before."""
    moment = moment_parameter(store.backend.table(MOMENT))
    passed = store.backend.table(PASSED)
    scored = score_leads(store.facts(), playbook, moment)
    fresh = scored.filter(scored.qualifies_as != "inquiry", ~scored.lead_key.isin(passed.lead_key))
    return store.sql(
        fresh.select(
            "lead_key", "lead_id", "qualifies_as", account_owner=fresh.account__owner, **{f: fresh[f] for f in flags}
        )
    )
