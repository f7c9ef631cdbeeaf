"""Small worlds of leads, accounts and events, written like stories.

    world = World(store)
    world.account("acme", employees=500, industry="Software")
    world.lead("alice", account="acme", role="CTO")
    world.did("alice", "page_view", "2026-11-20T10:00:00", path="/pricing")
    world.save()

``save`` imports everything through the store's real import path (stage, then commit).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import orjson

from leadgate.domain.stages import Stage
from leadgate.ingest.rows import EventRow, IdentityRow, Row, TraitRow, email_domain, trait_text
from leadgate.ingest.staging import buffer_rows, empty_buffers, stage_buffers
from leadgate.lifecycle.facts import AssignmentFact, BreachFact, DecisionFact, TransitionFact
from leadgate.lifecycle.machine import Cause
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore

LEARNT = dt.datetime(2026, 1, 1)


def at(text: str) -> dt.datetime:
    """A naive-UTC moment from ISO text (``2026-11-20T10:00:00`` or with an offset)."""
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


class World:
    """Facts for one test, saved into a real store in one import batch."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rows: list[Row] = []
        self._ids = itertools.count(1)

    def _next(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def account(self, account_id: str, learnt_at: str | None = None, **traits: Any) -> World:
        when = at(learnt_at) if learnt_at else LEARNT
        for name, value in traits.items():
            self.rows.append(TraitRow(self._next("t"), "account", account_id, name, _text(value), when))
        return self

    def lead(self, lead_id: str, account: str | None = None, learnt_at: str | None = None, **traits: Any) -> World:
        when = at(learnt_at) if learnt_at else LEARNT
        values = {name: _text(value) for name, value in traits.items()}
        if values.get("email") and "email_domain" not in values:
            values["email_domain"] = email_domain(values["email"] or "")
        if not values:
            values["created"] = "yes"  # a lead is known by at least one fact about it
        for name, value in values.items():
            self.rows.append(TraitRow(self._next("t"), "lead", lead_id, name, value, when))
        if account is not None:
            self.rows.append(IdentityRow(self._next("i"), "account", lead_id, account, when))
        return self

    def did(
        self, lead_id: str | None, event: str, when: str, anonymous_id: str | None = None, **properties: Any
    ) -> World:
        moment = at(when)
        self.rows.append(
            EventRow(
                message_id=self._next("m"),
                kind="page" if event == "page_view" else "track",
                event=event,
                user_id=lead_id,
                anonymous_id=anonymous_id,
                ts=moment,
                received_at=moment,
                path=properties.get("path"),
                utm_source=properties.get("utm_source"),
                utm_medium=properties.get("utm_medium"),
                utm_campaign=properties.get("utm_campaign"),
                properties=orjson.dumps(properties).decode() if properties else None,
            )
        )
        return self

    def alias(self, previous_id: str, user_id: str, when: str = "2026-01-01T00:00:00") -> World:
        self.rows.append(IdentityRow(self._next("i"), "alias", previous_id, user_id, at(when)))
        return self

    def save(self) -> World:
        """Import the facts written so far as one batch."""
        buffers = empty_buffers()
        for line, row in enumerate(self.rows, start=1):
            buffer_rows(buffers, [row], line)
        self.store.begin_batch()
        stage_buffers(self.store, buffers)
        self.store.commit_batch("test", "world", len(self.rows), LEARNT)
        self.rows = []
        return self


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return trait_text(value, "value", "number")
    return None if value is None else str(value)


class Handoff:
    """Hand-off facts (transitions, assignments, decisions) for leads already saved, written as if
    recorded: the stage machine does not check them, so a test states outcomes in a few lines.

        Handoff(store).moved("ann", "mql", "2026-03-09T00:00:00", {"fit_1": 20}).decided(
            "ann", "reject", "2026-03-10T00:00:00", reason="no_budget").save()
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.facts: list[TransitionFact | AssignmentFact | DecisionFact] = []
        self.stages: dict[int, str] = {}

    def _key(self, lead_id: str) -> int:
        key = self.store.lead_key_of(lead_id)
        assert key is not None, f"no lead {lead_id!r}: save the world first"
        return key

    def moved(self, lead_id: str, target: str, when: str, contributions: dict[str, float] | None = None) -> Handoff:
        """A transition to ``target``; ``contributions`` (rule id -> points) as a qualifying move records them."""
        key = self._key(lead_id)
        recorded = None
        if contributions is not None:
            recorded = orjson.dumps(
                [{"rule": rule, "points": points} for rule, points in contributions.items()]
            ).decode()
        source = Stage(self.stages.get(key, "inquiry"))
        self.facts.append(
            TransitionFact(
                key, source, Stage(target), Cause.RULE, "test", "leadgate", at(when), 1, contributions=recorded
            )
        )
        self.stages[key] = target
        return self

    def assigned(self, lead_id: str, owner: str, when: str, team: str | None = None) -> Handoff:
        self.facts.append(
            AssignmentFact(self._key(lead_id), owner, team, "rep", "test", "rep", "test", at(when), None, "routing")
        )
        return self

    def decided(self, lead_id: str, kind: str, when: str, reason: str | None = None, actor: str = "rep") -> Handoff:
        self.facts.append(DecisionFact(self._key(lead_id), kind, actor, at(when), reason=reason))
        return self

    def save(self) -> Handoff:
        LifecycleStore(self.store).record(self.facts)
        self.facts = []
        return self


class Lifecycle:
    """Lifecycle facts (moves, assignments, decisions, SLA breaches) written like a story, for
    leads already saved in the store; ``save`` records them through the lifecycle store.

        story = Lifecycle(store)
        story.move("alice", "inquiry", "mql", "2026-11-03T09:00:00", score=72)
        story.assign("alice", "bruno", "2026-11-03T09:00:00", due="2026-11-03T13:00:00")
        story.save()
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.facts: list[Any] = []

    def _key(self, lead_id: str) -> int:
        key = self.store.lead_key_of(lead_id)
        assert key is not None, f"no lead {lead_id} in the store"
        return key

    def move(
        self,
        lead_id: str,
        source: str,
        target: str,
        when: str,
        cause: str = "rule",
        score: float | None = None,
        playbook_version: int = 1,
        actor: str = "leadgate",
    ) -> Lifecycle:
        self.facts.append(
            TransitionFact(
                self._key(lead_id), Stage(source), Stage(target), Cause(cause), "story", actor, at(when),
                playbook_version, score=score,
            )
        )  # fmt: skip
        return self

    def assign(self, lead_id: str, owner: str, when: str, due: str | None = None, team: str = "sales") -> Lifecycle:
        due_at = at(due) if due else None
        self.facts.append(
            AssignmentFact(
                self._key(lead_id), owner, team, "rep", "story", "round_robin", "story", at(when), due_at, "routing"
            )
        )
        return self

    def decide(self, lead_id: str, kind: str, actor: str, when: str, reason: str | None = None) -> Lifecycle:
        self.facts.append(DecisionFact(self._key(lead_id), kind, actor, at(when), reason=reason))
        return self

    def breach(self, lead_id: str, owner: str, due: str, when: str, action: str = "recycle") -> Lifecycle:
        self.facts.append(BreachFact(self._key(lead_id), owner, at(due), at(when), action))
        return self

    def save(self) -> Lifecycle:
        LifecycleStore(self.store).record(self.facts)
        self.facts = []
        return self
