"""The backtest in one pass over the facts: every checkpoint's scores from running sums.

The per-checkpoint replay (:func:`leadgate.analytics.backtest.first_passes`) scores every
lead at every checkpoint, reading the history up to it each time: 54 weekly checkpoints of
two playbooks read a year of events 108 times. Here the events, traits and account links
are read once:

1. each lead's metric amounts per checkpoint interval (:mod:`.backtest_fast_events`), for
   both playbooks at once, kept in a scratch table;
2. per playbook, the intervals in which something happened to a lead (an event, a trait, an
   account link; and interval 0 for every lead), merged, then running sums and carried values
   over the intervals give the lead's state at each of them (:mod:`.backtest_fast_state`);
3. each state stands for the checkpoints up to the lead's next change (an array of
   checkpoints, unnested), the account's traits are joined per checkpoint, and the scoring
   engine's own arithmetic (:func:`~leadgate.scoring.engine.qualify_aggregated`) turns the
   aggregates into scores and stage flags; the first checkpoint that passes a lead wins.

The answers are the per-checkpoint replay's (tests/test_backtest_fast.py holds the two to each
other and to the oracle). A playbook that uses a construct the running sums cannot express
(:func:`~leadgate.analytics.backtest_fast_plan.obstacles`) goes to the per-checkpoint replay.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import ibis
import ibis.expr.datatypes as dt_types
import ibis.expr.types as ir

from leadgate.analytics.backtest_fast_events import EventAmounts
from leadgate.analytics.backtest_fast_plan import Metric, metrics_of
from leadgate.analytics.backtest_fast_state import (
    MEMBERSHIP,
    account_states,
    membership_changes,
    trait_changes,
    typed_traits,
    uncarried,
)
from leadgate.domain.traits import TraitType
from leadgate.playbook.compiled import Playbook
from leadgate.scoring.engine import ACCOUNT_PREFIX, LEAD_PREFIX, qualify_aggregated, used_traits
from leadgate.scoring.events import SECONDS_PER_DAY
from leadgate.scoring.moment import Moment, epoch_seconds
from leadgate.store.base import Store
from leadgate.store.facts import Facts

AMOUNTS = "backtest_amounts"  # scratch table: the metric amounts of every playbook replayed


def fast_passes(
    store: Store, playbooks: Sequence[Playbook], checkpoints: list[dt.datetime]
) -> list[list[dict[str, object]]]:
    """For each playbook, the rows :func:`~leadgate.analytics.backtest.first_passes` gives
    (without ``passed_at``; ``k``: the index of the checkpoint), read in one pass over the facts."""
    facts = store.facts()
    metrics = [metric for playbook in playbooks for metric in metrics_of(playbook).values()]
    amounts = EventAmounts(facts, metrics, checkpoints).table()
    if amounts is not None:
        store.replace_table(AMOUNTS, amounts)
    try:
        found = []
        for playbook in playbooks:
            saved = store.backend.table(AMOUNTS) if amounts is not None else None
            query = store.sql(passes_of(facts, playbook, checkpoints, saved))
            found.append(store.query_rows(query))
        return found
    finally:
        if amounts is not None:
            store.backend.drop_table(AMOUNTS, force=True)


def passes_of(facts: Facts, playbook: Playbook, checkpoints: list[dt.datetime], amounts: ir.Table | None) -> ir.Table:
    """``lead_key``, ``lead_id``, ``k``, ``stage``, ``account_owner`` and the routing flags of the
    leads the playbook passes, at the first checkpoint that passes them."""
    lead_traits, account_traits = used_traits(playbook)
    metrics = metrics_of(playbook)
    grid = _lead_states(facts, lead_traits, metrics, checkpoints, amounts)
    accounts = account_states(facts, account_traits, checkpoints).rename(account_at="account_id", k_at="k")
    grid = grid.left_join(accounts, [grid.account_id == accounts.account_at, grid.k == accounts.k_at])
    grid = grid.drop("account_at", "k_at")
    epoch = _checkpoint_epoch(grid.k, checkpoints)
    grid = grid.mutate(**_metric_values(grid, metrics, epoch, epoch_seconds(checkpoints[0])))
    moment = Moment(at=epoch.as_timestamp("s"), epoch=epoch, known_epoch=None, stamp=epoch.as_timestamp("s"))  # type: ignore[arg-type]
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


def _lead_states(
    facts: Facts,
    lead_traits: dict[str, TraitType],
    metrics: dict[str, Metric],
    checkpoints: list[dt.datetime],
    amounts: ir.Table | None,
) -> ir.Table:
    """One row per lead and checkpoint: its running metric sums, traits and account."""
    leads = facts.leads()
    columns: dict[str, dt_types.DataType] = {
        metric.column: dt_types.int64 if metric.kind == "first" else dt_types.float64 for metric in metrics.values()
    }
    columns |= {f"{LEAD_PREFIX}{name}": dt_types.string for name in lead_traits}
    columns[MEMBERSHIP] = dt_types.string
    parts = [leads.select("lead_key", k=ibis.literal(0, "int64"))]
    if amounts is not None:
        parts.append(amounts.select("lead_key", "k", *dict.fromkeys(metric.column for metric in metrics.values())))
    if lead_traits:
        parts.append(
            trait_changes(facts, "lead", list(lead_traits), "entity_key", checkpoints, LEAD_PREFIX).rename(
                lead_key="entity_key"
            )
        )
    parts.append(membership_changes(facts, checkpoints))
    aligned = [
        part.select(
            lead_key=part.lead_key.cast("int64"),
            k=part.k.cast("int64"),
            **{
                name: part[name].cast(kind) if name in part.columns else ibis.null(kind)
                for name, kind in columns.items()
            },
        )
        for part in parts
    ]
    merged = aligned[0]
    for part in aligned[1:]:
        merged = merged.union(part, distinct=False)
    kinds = {metric.column: metric.kind for metric in metrics.values()}
    changes = merged.group_by(["lead_key", "k"]).aggregate(
        **{
            name: merged[name].min()
            if kinds.get(name) == "first"
            else merged[name].sum()
            if name in kinds
            else merged[name].max()
            for name in columns
        }
    )
    running = ibis.cumulative_window(group_by=changes.lead_key, order_by=changes.k)
    following = ibis.window(group_by=changes.lead_key, order_by=changes.k)
    state = changes.select(
        "lead_key",
        "k",
        next_k=changes.k.lead().over(following).fill_null(len(checkpoints)),
        **{
            name: (
                changes[name].min()
                if kinds.get(name) == "first"
                else changes[name].sum()
                if name in kinds
                else changes[name].max()
            ).over(running)
            for name in columns
        },
    )
    typed = typed_traits(state, lead_traits, LEAD_PREFIX)
    state = state.mutate(**typed, **{MEMBERSHIP: uncarried(state[MEMBERSHIP])})
    expanded = state.mutate(at=ibis.range(state.k, state.next_k, 1).unnest())
    return expanded.drop("k", "next_k").rename(k="at")


def _checkpoint_epoch(k: ir.IntegerValue, checkpoints: list[dt.datetime]) -> ir.IntegerValue:
    """The epoch second of checkpoint ``k``."""
    epochs = [epoch_seconds(moment) for moment in checkpoints]

    def tree(low: int, high: int) -> ir.Value:
        if low == high:
            return ibis.literal(epochs[low], "int64")
        middle = (low + high) // 2
        return ibis.ifelse(k <= middle, tree(low, middle), tree(middle + 1, high))

    return tree(0, len(epochs) - 1)  # type: ignore[return-value]


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
