"""The backtest in one pass over the facts: every checkpoint's scores from running sums.

The per-checkpoint replay (:func:`leadgate.analytics.backtest.first_passes`) scores every
lead at every checkpoint, reading the history up to it each time: 54 weekly checkpoints of
two playbooks read a year of events 108 times. Here the events, traits and account links
are read once:

1. each lead's metric amounts per checkpoint interval (:mod:`.backtest_fast_events`), for
   both playbooks at once, kept in a scratch table; only for the leads some playbook may pass
   by its fit bound (:meth:`~.backtest_fast_bounds.SharedBounds.fit_table`, read first from
   the few trait facts);
2. the leads each playbook could pass at all, from upper bounds of their scores
   (:mod:`.backtest_fast_bounds`; bounds two playbooks share are read once), and
   the first checkpoint at which each could: the next steps build rows only for those leads
   from that checkpoint on (a quarter of the leads or fewer on the benchmark);
3. for those leads, the intervals in which something happened to a lead (an event, a trait,
   an account link; and interval 0 for every lead), merged, then running sums and carried
   values over the intervals give the lead's state at each of them (:mod:`.backtest_fast_state`);
4. each state stands for the checkpoints up to the lead's next change (an array of
   checkpoints, unnested), the account's traits are joined from the account's state covering
   the checkpoint, and the scoring engine's own arithmetic
   (:func:`~leadgate.scoring.engine.qualify_aggregated`) turns the aggregates into scores and
   stage flags; the first checkpoint that passes a lead wins.

The answers are the per-checkpoint replay's (tests/test_backtest_fast.py holds the two to each
other and to the oracle). A playbook that uses a construct the running sums cannot express
(:func:`~leadgate.analytics.backtest_fast_plan.obstacles`) goes to the per-checkpoint replay.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from contextlib import ExitStack, nullcontext

import ibis
import ibis.expr.types as ir

from leadgate.analytics.backtest_fast_bounds import SharedBounds
from leadgate.analytics.backtest_fast_events import EventAmounts, checkpoint_epoch
from leadgate.analytics.backtest_fast_plan import Metric, metrics_of
from leadgate.analytics.backtest_fast_state import account_spans, expanded, lead_spans
from leadgate.playbook.compiled import Playbook
from leadgate.scoring.engine import ACCOUNT_PREFIX, qualify_aggregated, used_traits
from leadgate.scoring.events import SECONDS_PER_DAY
from leadgate.scoring.moment import Moment, epoch_seconds
from leadgate.store.base import Store
from leadgate.store.facts import Facts

FITS = "backtest_fits"  # scratch table: the leads some playbook may pass by its fit bound, with the bounds
AMOUNTS = "backtest_amounts"  # scratch table: the metric amounts of every playbook replayed
BOUNDS = "backtest_bounds"  # scratch table: per lead, the first checkpoint each playbook may pass it at
KEEP = "backtest_may_pass"  # scratch table: the leads one playbook may pass


def fast_passes(
    store: Store, playbooks: Sequence[Playbook], checkpoints: list[dt.datetime]
) -> list[list[dict[str, object]]]:
    """For each playbook, the rows :func:`~leadgate.analytics.backtest.first_passes` gives
    (without ``passed_at``; ``k``: the index of the checkpoint), read in one pass over the facts."""
    facts = store.facts()
    metrics = [metric for playbook in playbooks for metric in metrics_of(playbook).values()]
    shared = SharedBounds(playbooks)
    with ExitStack() as stack:
        fits = shared.fit_table(facts, checkpoints)
        if fits is not None:  # no other lead can pass: their events need not be read
            fits = stack.enter_context(store.scratch(FITS, fits))
        amounts = EventAmounts(facts, metrics, checkpoints, fits).table()
        saved = stack.enter_context(store.scratch(AMOUNTS, amounts)) if amounts is not None else None
        bounds = shared.table(facts, checkpoints, saved, fits)
        if bounds is not None:
            bounds = stack.enter_context(store.scratch(BOUNDS, bounds))
        found = []
        for index, playbook in enumerate(playbooks):
            kept = store.scratch(KEEP, shared.keep(index, bounds)) if bounds is not None else nullcontext(None)
            with kept as keep:
                found.append(store.query_rows(store.sql(passes_of(facts, playbook, checkpoints, saved, keep))))
        return found


def passes_of(
    facts: Facts,
    playbook: Playbook,
    checkpoints: list[dt.datetime],
    amounts: ir.Table | None,
    keep: ir.Table | None = None,
) -> ir.Table:
    """``lead_key``, ``lead_id``, ``k``, ``stage``, ``account_owner`` and the routing flags of the
    leads the playbook passes, at the first checkpoint that passes them (among ``keep``'s
    ``lead_key`` when given, from its ``from_k``: the others cannot pass, nor these before)."""
    lead_traits, account_traits = used_traits(playbook)
    metrics = metrics_of(playbook)
    spans = lead_spans(facts, lead_traits, metrics, checkpoints, amounts, keep)
    if keep is not None:  # a lead's rows start at the first checkpoint at which it may pass
        spans = spans.join(keep, "lead_key")
        spans = spans.filter(spans.next_k > spans.from_k)
        spans = spans.mutate(k=ibis.greatest(spans.k, spans.from_k)).drop("from_k")
    grid = expanded(spans)
    accounts = account_spans(facts, account_traits, checkpoints)
    accounts = accounts.rename(account_at="account_id", k_from="k", k_to="next_k")
    grid = grid.left_join(
        accounts, [grid.account_id == accounts.account_at, grid.k >= accounts.k_from, grid.k < accounts.k_to]
    )
    grid = grid.drop("account_at", "k_from", "k_to")
    epoch = checkpoint_epoch(grid.k, checkpoints)
    grid = grid.mutate(**_metric_values(grid, metrics, epoch, epoch_seconds(checkpoints[0])))
    moment = Moment(at=epoch.as_timestamp("s"), epoch=epoch, span=None, stamp=epoch.as_timestamp("s"))  # type: ignore[arg-type]
    clauses = {clause: f"w_{index}" for index, clause in enumerate(playbook.all_event_clauses())}
    scored = qualify_aggregated(grid, playbook, moment, clauses)
    passing = scored.filter(scored.qualifies_as != "inquiry")
    first = ibis.row_number().over(group_by=passing.lead_key, order_by=passing.k)
    passing = passing.mutate(nth=first).filter(lambda table: table.nth == 0)
    flags = [name for name in scored.columns if name.startswith("r_")]
    leads = facts.leads()
    passing = passing.join(leads, "lead_key")
    return passing.select(
        "lead_key",
        "lead_id",
        "k",
        stage=passing.qualifies_as,
        account_owner=passing[f"{ACCOUNT_PREFIX}owner"],
        **{flag: passing[flag] for flag in flags},
    )


def _metric_values(
    grid: ir.Table, metrics: dict[str, Metric], epoch: ir.IntegerValue, origin: int
) -> dict[str, ir.Value]:
    """The engine's aggregate columns at each checkpoint, from the running sums."""
    decays: dict[float, ir.Value] = {}
    values: dict[str, ir.Value] = {}
    for name, metric in metrics.items():
        running = grid[metric.column]
        if metric.kind == "first" or metric.half_life_days is None:
            values[name] = running
            continue
        if metric.half_life_days not in decays:
            rate = -math.log(2) / (metric.half_life_days * SECONDS_PER_DAY)
            decays[metric.half_life_days] = ((epoch - origin) * rate).exp()
        values[name] = running * decays[metric.half_life_days]
    return values
