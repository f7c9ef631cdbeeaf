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

from leadgate.ingest.rows import EventRow, IdentityRow, Row, TraitRow, email_domain, trait_text
from leadgate.ingest.staging import buffer_rows, empty_buffers, stage_buffers
from leadgate.store.base import Store

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
