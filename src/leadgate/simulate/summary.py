"""What a simulation produced, counted as it goes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from leadgate.simulate.behaviour import Block
from leadgate.simulate.history import History
from leadgate.simulate.templates import TEMPLATE_EVENTS, TEMPLATES

Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``: how far a simulation has got."""


@dataclass(frozen=True)
class SimulationSummary:
    """Counts of a simulated history, and the period it covers."""

    accounts: int
    leads: int
    anonymous_visitors: int
    events_by_name: dict[str, int]
    sql_leads: int  # sales qualified before the end
    converted_leads: int  # won before the end
    start: dt.datetime
    end: dt.datetime

    @property
    def events(self) -> int:
        """All events, whatever their name."""
        return sum(self.events_by_name.values())


class Tally:
    """Counts the events of each block as it passes."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.by_template = np.zeros(len(TEMPLATES), dtype=np.int64)
        self.people = 0

    @property
    def events(self) -> int:
        """The events counted so far."""
        return int(self.by_template.sum())

    def add(self, block: Block) -> None:
        """Count a block's events and people."""
        self.by_template += np.bincount(block.events.template, minlength=len(TEMPLATES))
        self.people += block.people

    def summary(self) -> SimulationSummary:
        """The counts so far, with the history's accounts, leads and outcomes."""
        history = self.history
        by_name: dict[str, int] = {}
        for event, count in zip(TEMPLATE_EVENTS, self.by_template.tolist(), strict=True):
            by_name[event] = by_name.get(event, 0) + count
        _, converted, sql_at = history.outcomes.known_by(history.window.end)
        return SimulationSummary(
            accounts=len(history.world.accounts.ids),
            leads=history.lead_count,
            anonymous_visitors=len(history.world.visitors),
            events_by_name={name: by_name[name] for name in sorted(by_name) if by_name[name]},
            sql_leads=int((sql_at < history.window.end).sum()),
            converted_leads=int(converted.sum()),
            start=history.window.moment(history.window.start),
            end=history.window.moment(history.window.end),
        )
