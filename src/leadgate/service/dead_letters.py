"""Looking at the outbox and retrying dead notices: what ``leadgate webhooks`` and ``/v1/webhooks`` share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from leadgate.domain.times import UtcTime
from leadgate.errors import NotFound, UserError
from leadgate.lifecycle.notifications import payload_of
from leadgate.service.delivery import DeliverySettings, waiting_reason
from leadgate.store.base import Store
from leadgate.store.outbox_store import OutboxEntry, OutboxStore


class NotificationItem(BaseModel):
    """One notification of the outbox and how its delivery goes."""

    notification_id: str = Field(description="The fact's id and the notify rule's number, e.g. t12-1")
    status: str = Field(description="pending, delivered or dead")
    channel: str = Field(description="webhook or email")
    destination: str = Field(description="The webhook's URL, or the e-mail's recipient (a rep's name or an address)")
    trigger: str
    lead_id: str
    at: dt.datetime = Field(description="When the fact happened (UTC)")
    attempts: int
    last_error: str | None = Field(None, description="Why the latest attempt failed")
    waiting_for: str | None = Field(None, description="For a pending one: the missing setting that holds it back")
    next_attempt_at: UtcTime | None = None
    created_at: UtcTime
    delivered_at: UtcTime | None = None
    payload: dict[str, Any] = Field(description="What the webhook sends (an e-mail tells the same)")


class Retried(BaseModel):
    """Dead notifications put back in the queue, due at once."""

    retried: list[str]


def notification_items(
    store: Store, statuses: Sequence[str], settings: DeliverySettings, limit: int | None = None
) -> list[NotificationItem]:
    """The outbox's notices with these statuses, the earliest first."""
    return [item_of(entry, settings) for entry in OutboxStore(store).entries(statuses, limit)]


def item_of(entry: OutboxEntry, settings: DeliverySettings) -> NotificationItem:
    notice = entry.notice
    return NotificationItem(
        notification_id=notice.notification_id,
        status=entry.status,
        channel=notice.channel,
        destination=notice.destination,
        trigger=notice.trigger,
        lead_id=notice.lead_id,
        at=notice.at,
        attempts=entry.attempts,
        last_error=entry.last_error,
        waiting_for=waiting_reason(notice, settings) if entry.status == "pending" else None,
        next_attempt_at=entry.next_attempt_at,
        created_at=entry.created_at,
        delivered_at=entry.delivered_at,
        payload=payload_of(notice),
    )


def retry_dead(store: Store, notification_ids: Sequence[str] | None, now: dt.datetime) -> Retried:
    """Put dead notices back in the queue (every dead one when ``notification_ids`` is None).

    A notice that does not exist is :class:`NotFound`; one that is not dead (pending: it is on
    its way; delivered: it arrived) is refused.
    """
    outbox = OutboxStore(store)
    if notification_ids is None:
        wanted = outbox.dead_ids()
    else:
        wanted = list(dict.fromkeys(notification_ids))
        for notification_id in wanted:
            entry = outbox.entry(notification_id)
            if entry is None:
                raise NotFound(f"no notification {notification_id!r}", listed_by="leadgate webhooks list")
            if entry.status != "dead":
                raise UserError(
                    f"notification {notification_id} is {entry.status}, not dead: only a dead one is retried"
                )
    outbox.retry(wanted, now)
    return Retried(retried=wanted)
