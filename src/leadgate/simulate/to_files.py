"""Write a simulated history as files that ``leadgate import`` reads.

``accounts.csv`` and ``leads.csv`` hold the CRM's view (with a ``learnt_at`` column, so the
traits are dated like the store's), ``events.jsonl`` the Segment messages in time order
within each block of people, and ``truth.csv`` the ground truth (not an import: the
answer key for models and backtests).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from leadgate.simulate.arrays import Texts, texts
from leadgate.simulate.behaviour import Block, event_blocks
from leadgate.simulate.facts import PersonIds
from leadgate.simulate.history import History, build_history
from leadgate.simulate.jsonl import event_lines, identity_lines, iso_times
from leadgate.simulate.profiles import ACCOUNT_COLUMNS, LEAD_COLUMNS, account_profiles, lead_profiles
from leadgate.simulate.summary import Progress, SimulationSummary, Tally
from leadgate.simulate.truth import TRUTH_COLUMNS, ground_truth

EVENTS_FILE, LEADS_FILE, ACCOUNTS_FILE, TRUTH_FILE = "events.jsonl", "leads.csv", "accounts.csv", "truth.csv"


def write_simulation_files(
    directory: Path,
    leads: int,
    days: int,
    seed: int,
    end: dt.datetime,
    progress: Progress | None = None,
) -> SimulationSummary:
    """Simulate as :func:`simulate_into_store` does, into the four files of ``directory``.

    ``progress(phase, done, total)`` is called with phase ``people`` as blocks of people are
    written.
    """
    history = build_history(leads, days, seed, end)
    directory.mkdir(parents=True, exist_ok=True)
    account_profile = account_profiles(history)
    _write_accounts(directory / ACCOUNTS_FILE, history, account_profile)
    _write_leads(directory / LEADS_FILE, history)
    _write_outcomes(directory / TRUTH_FILE, history)
    tally = Tally(history)
    ids = PersonIds(history)
    with (directory / EVENTS_FILE).open("w", encoding="utf-8", newline="\n") as out:
        for block in event_blocks(history):
            lines = _block_lines(history, block, ids, tally.events + 1, account_profile)
            out.writelines(line + "\n" for line in lines)
            tally.add(block)
            if progress:
                progress("people", tally.people, history.people)
    return tally.summary()


def _block_lines(
    history: History, block: Block, ids: PersonIds, first_number: int, account_profile: dict[str, Texts]
) -> list[str]:
    """The block's messages by time; a lead's identify and group come before its events of that second."""
    lead = np.arange(block.leads.start, block.leads.stop)
    people_lines = identity_lines(history, lead, lead_profiles(history, lead), account_profile)
    lines = people_lines + event_lines(history, block, ids, first_number).to_pylist()
    moments = np.concatenate([np.repeat(history.arrivals.identified_at[lead], 2), block.events.moment])
    return [lines[index] for index in np.argsort(moments, kind="stable")]


def _write_accounts(path: Path, history: History, profile: dict[str, Texts]) -> None:
    accounts = history.world.accounts
    learnt_at = iso_times(np.full(len(accounts.ids), history.window.start))
    _write_csv(path, ("account_id", *ACCOUNT_COLUMNS, "learnt_at"), [accounts.ids, *profile.values(), learnt_at])


def _write_leads(path: Path, history: History) -> None:
    leads = history.world.leads
    profile = lead_profiles(history, np.arange(len(leads)))
    account_ids = history.world.accounts.ids[leads.account]
    learnt_at = iso_times(history.arrivals.identified_at)
    columns = ("lead_id", "account_id", *LEAD_COLUMNS, "learnt_at")
    _write_csv(path, columns, [leads.ids, account_ids, *(profile[name] for name in LEAD_COLUMNS), learnt_at])


def _write_outcomes(path: Path, history: History) -> None:
    truth = ground_truth(history)
    propensity = texts([f"{value:.6f}" for value in truth.propensity])
    converted = texts(["true" if value else "false" for value in truth.converted])
    values = [truth.lead_ids, truth.account_ids, propensity, converted, truth.outcome]
    _write_csv(path, TRUTH_COLUMNS, [*values, iso_times(truth.sql_at), iso_times(truth.outcome_at)])


def _write_csv(path: Path, header: Sequence[str], columns: Sequence[Iterable[object]]) -> None:
    """A CSV file with a header; ``None`` is an empty cell."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for row in zip(*columns, strict=True):
            writer.writerow(["" if value is None else value for value in row])
