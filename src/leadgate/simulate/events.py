"""A batch of simulated events: parallel integer arrays, one row per event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from leadgate.simulate.arrays import Bools, Ints

NO_CAMPAIGN = -1


@dataclass(frozen=True)
class EventBatch:
    """Events as parallel arrays: who, when, which template, through which campaign."""

    person: Ints  # a lead's number, or the lead count plus a visitor's number
    moment: Ints
    template: Ints  # into templates.TEMPLATES
    campaign: Ints  # into templates.CAMPAIGNS, NO_CAMPAIGN: none

    @classmethod
    def of(cls, person: Ints, moment: Ints, template: Ints | int, campaign: Ints | None = None) -> EventBatch:
        """Events of one template (or one each), without a campaign unless given."""
        size = len(person)
        templates = np.broadcast_to(np.asarray(template, dtype=np.int64), (size,)).copy()
        campaigns = np.full(size, NO_CAMPAIGN, dtype=np.int64) if campaign is None else campaign
        return cls(person.astype(np.int64), moment.astype(np.int64), templates, campaigns.astype(np.int64))

    @classmethod
    def concat(cls, batches: Sequence[EventBatch]) -> EventBatch:
        """The events of all the batches, in that order."""
        return cls(
            np.concatenate([batch.person for batch in batches]),
            np.concatenate([batch.moment for batch in batches]),
            np.concatenate([batch.template for batch in batches]),
            np.concatenate([batch.campaign for batch in batches]),
        )

    def __len__(self) -> int:
        return len(self.person)

    def where(self, keep: Bools) -> EventBatch:
        """The events where ``keep`` is true."""
        return EventBatch(self.person[keep], self.moment[keep], self.template[keep], self.campaign[keep])

    def in_time_order(self) -> EventBatch:
        """Sorted by moment, then person, template and campaign (a total, repeatable order)."""
        order = np.lexsort((self.campaign, self.template, self.person, self.moment))
        return EventBatch(self.person[order], self.moment[order], self.template[order], self.campaign[order])
