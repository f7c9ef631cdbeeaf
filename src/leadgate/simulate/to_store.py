"""Write a simulated history into a store, through its real import batch.

The facts are staged a chunk at a time and committed in one transaction, as an import of
the simulation's files would be: identity stitching, lead keys and idempotence are the
store's own. Running the same simulation again adds nothing. The ground truth goes in the
``simulation_truth`` table, which only the simulation writes.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from leadgate.simulate.behaviour import event_blocks
from leadgate.simulate.facts import PersonIds, account_traits, event_rows, lead_facts, truth_table
from leadgate.simulate.history import History, build_history
from leadgate.simulate.profiles import account_profiles
from leadgate.simulate.summary import Progress, SimulationSummary, Tally
from leadgate.simulate.truth import ground_truth
from leadgate.store.base import STAGED_COLUMNS, Store

TRUTH_TABLE = "simulation_truth"
STAGE_ROWS = 500_000
_ORDER_COLUMN = {"events": "line", "traits": "seq", "identities": "seq"}


class _Stager:
    """Stages tables in chunks, numbering the rows of each staging table in order."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.staged = dict.fromkeys(STAGED_COLUMNS, 0)

    @property
    def rows(self) -> int:
        """All rows staged so far."""
        return sum(self.staged.values())

    def stage(self, table: str, rows: pa.Table) -> None:
        """Stage rows (without their order column) in chunks of at most STAGE_ROWS."""
        for start in range(0, rows.num_rows, STAGE_ROWS):
            chunk = rows.slice(start, STAGE_ROWS)
            first = self.staged[table] + 1
            order = pa.array(np.arange(first, first + chunk.num_rows, dtype=np.int64))
            self.store.stage(
                table, chunk.append_column(_ORDER_COLUMN[table], order).select(list(STAGED_COLUMNS[table]))
            )
            self.staged[table] += chunk.num_rows


def simulate_into_store(
    store: Store,
    leads: int,
    days: int,
    seed: int,
    end: dt.datetime,
    progress: Progress | None = None,
) -> SimulationSummary:
    """Simulate ``leads`` leads over the ``days`` days before ``end`` and store the facts.

    ``progress(phase, done, total)`` is called with phase ``people`` as blocks of people are
    simulated, then with ``saving`` before and after the commit.
    """
    report = progress or _silent
    started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    history = build_history(leads, days, seed, end)
    stager = _Stager(store)
    tally = Tally(history)
    store.begin_batch()
    try:
        _stage_history(stager, history, tally, report)
        report("saving", 0, 1)
        store.commit_batch(
            kind="simulation",
            source=f"leadgate simulate --leads {leads} --days {days} --seed {seed}",
            rows_read=stager.rows,
            started_at=started_at,
        )
    except BaseException:
        store.discard_batch()
        raise
    store.replace_table_from_arrow(TRUTH_TABLE, truth_table(ground_truth(history)))
    report("saving", 1, 1)
    return tally.summary()


def _stage_history(stager: _Stager, history: History, tally: Tally, progress: Progress) -> None:
    ids = PersonIds(history)
    account_profile = account_profiles(history)
    stager.stage("traits", account_traits(history, account_profile))
    for block in event_blocks(history):
        stager.stage("events", event_rows(history, block, ids, stager.staged["events"] + 1))
        if block.leads:
            traits, identities = lead_facts(history, np.arange(block.leads.start, block.leads.stop), account_profile)
            stager.stage("traits", traits)
            stager.stage("identities", identities)
        tally.add(block)
        progress("people", tally.people, history.people)


def _silent(phase: str, done: int, total: int) -> None:
    """No progress report."""
