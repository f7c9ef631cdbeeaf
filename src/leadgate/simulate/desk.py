"""The reps' desk of a simulated play: the decisions made between two cycles, kept together.

A rep's decision in the product goes through :func:`~leadgate.service.decisions.apply_decision`:
read the lead's state, its latest score and the absences, check the decision with the pure
:func:`~leadgate.lifecycle.decisions.decide`, record its facts. Done one decision at a time,
those reads and the write transaction took two thirds of a simulated play (16,000 leads: about
ten small queries per decision, tens of thousands of decisions). Between two cycles or SLA
checks nothing else changes a lead's state or score, so the desk reads the states and scores of
the leads it will decide on in one query each, checks every decision with the same ``decide``
on the state its predecessors left, and records them all with one
:meth:`~leadgate.store.lifecycle_store.LifecycleStore.record` in the order they were made:
the same checks, the same facts and the same sequence numbers as one decision at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from leadgate.errors import NotFound
from leadgate.lifecycle.decisions import Context, Decision, decide
from leadgate.lifecycle.facts import Fact, LeadState, apply
from leadgate.lifecycle.machine import transitions_of
from leadgate.playbook.compiled import Playbook
from leadgate.routing.assign import Absence
from leadgate.service.moments import moment_of
from leadgate.service.scoring import SCORES_TABLE
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore, state_from
from leadgate.store.schema import LEAD_STATE_TABLE


class DecisionDesk:
    """Decisions checked against in-memory states, recorded together by :meth:`record`."""

    def __init__(self, store: Store, playbook: Playbook) -> None:
        self.store = store
        self.playbook = playbook
        self.lifecycle = LifecycleStore(store)
        self.table = transitions_of(playbook.model)
        self.keys = _lead_keys(store)
        self.states: dict[int, LeadState] = {}
        self.seen: dict[int, int] = {}  # the version each lead had when the desk first read it
        self.scores: dict[int, dict[str, Any]] = {}
        self.facts: list[Fact] = []
        self.away: list[Absence] | None = None

    def key_of(self, lead_id: str) -> int:
        if lead_id not in self.keys:
            raise NotFound(f"no lead with the id {lead_id!r}", listed_by="leadgate leads")
        return self.keys[lead_id]

    def read(self, lead_ids: Iterable[str]) -> None:
        """Read the states and scores of these leads (those not read yet) in one query each."""
        wanted = sorted({self.key_of(lead_id) for lead_id in lead_ids} - self.states.keys())
        if not wanted:
            return
        found = self.lifecycle.states(wanted)
        for key in wanted:
            state = found.get(key, LeadState(key))
            self.states[key] = state
            self.seen[key] = state.version
        if self.store.has_table(SCORES_TABLE):
            columns = self.store.columns_of(SCORES_TABLE)
            for row in self.store.rows_for_keys(SCORES_TABLE, columns, wanted):
                self.scores.setdefault(row[columns.index("lead_key")], dict(zip(columns, row, strict=True)))

    def state(self, lead_id: str) -> LeadState:
        """The lead's state as the decisions made so far leave it."""
        self.read([lead_id])
        return self.states[self.key_of(lead_id)]

    def absences(self) -> list[Absence]:
        if self.away is None:
            self.away = self.lifecycle.absences()
        return self.away

    def make(self, decision: Decision) -> None:
        """Check a decision as :func:`~leadgate.service.decisions.apply_decision` does (a refusal
        raises) and keep its facts for :meth:`record`."""
        if decision.duplicate_of is not None:
            self.key_of(decision.duplicate_of)
        state = self.state(decision.lead_id)
        context = Context(
            playbook=self.playbook.model,
            playbook_version=self.playbook.version,
            table=self.table,
            absences=self.absences(),
            moment=moment_of(self.scores.get(state.lead_key, {}), self.playbook),
        )
        facts = decide(state, decision, context)
        for fact in facts:
            state = apply(state, fact)
        self.states[state.lead_key] = state
        self.facts += facts

    def record(self) -> None:
        """Record the decisions made since the last call, in their order, and forget what was
        read (a cycle may change states and scores next)."""
        if self.facts:
            self.lifecycle.record(self.facts, {key: self.seen[key] for key in {f.lead_key for f in self.facts}})
        self.states, self.seen, self.scores, self.facts, self.away = {}, {}, {}, [], None

    def awaiting(self) -> list[LeadState]:
        """The leads awaiting acceptance, in the store's order (as :meth:`LifecycleStore.states`)."""

        def compile_query() -> str:
            states = self.store.backend.table(LEAD_STATE_TABLE)
            return self.store.sql(states.filter(states.stage == "sal_pending"))

        return [state_from(row) for row in self.store.query_rows(self.store.kept(("awaiting",), compile_query))]


def _lead_keys(store: Store) -> dict[str, int]:
    """Each lead id's key, as :meth:`Store.lead_key_of` finds it (a play adds no lead)."""
    keys = store.backend.table("person_keys")
    rows = (
        keys.filter((keys.id_kind == "user") & (keys.first_key == keys.lead_key))
        .select("id_value", "lead_key")
        .to_pyarrow()
    )
    return dict(zip(rows["id_value"].to_pylist(), rows["lead_key"].to_pylist(), strict=True))
