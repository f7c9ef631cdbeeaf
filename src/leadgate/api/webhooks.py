"""The outbox over HTTP: see what waits or is dead (marketing, admin), retry dead ones (admin).

A retried notification is due at once and the delivery thread is woken: it goes out within a
moment if its receiver answers, in order with the lead's other notices to that receiver.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from leadgate.api.auth import allowed, runtime_of
from leadgate.api.problems import PROBLEM_RESPONSES
from leadgate.service.dead_letters import NotificationItem, Retried, notification_items, retry_dead
from leadgate.service.keys import Principal

router = APIRouter(tags=["webhooks"])
_READERS = Depends(allowed("marketing", "admin"))
_ADMIN = Depends(allowed("admin"))
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many, the earliest first")]


def _listed(request: Request, status: str, limit: int) -> list[NotificationItem]:
    runtime = runtime_of(request)
    with runtime.locked() as store:
        return notification_items(store, [status], runtime.outbox.settings, limit)


@router.get(
    "/v1/webhooks/dead",
    response_model=list[NotificationItem],
    responses=PROBLEM_RESPONSES,
    summary="Dead notifications: every attempt failed (the dead-letter list)",
)
def dead_notifications(request: Request, principal: Principal = _READERS, limit: Limit = 100) -> list[NotificationItem]:
    return _listed(request, "dead", limit)


@router.get(
    "/v1/webhooks/pending",
    response_model=list[NotificationItem],
    responses=PROBLEM_RESPONSES,
    summary="Notifications waiting to be sent (due, retrying, or held back by a missing setting)",
)
def pending_notifications(
    request: Request, principal: Principal = _READERS, limit: Limit = 100
) -> list[NotificationItem]:
    return _listed(request, "pending", limit)


@router.post(
    "/v1/webhooks/dead/retry",
    response_model=Retried,
    responses=PROBLEM_RESPONSES,
    summary="Retry every dead notification",
)
def retry_every_dead(request: Request, principal: Principal = _ADMIN) -> Retried:
    return _retry(request, None)


@router.post(
    "/v1/webhooks/{notification_id}/retry",
    response_model=Retried,
    responses=PROBLEM_RESPONSES,
    summary="Retry one dead notification",
)
def retry_one(request: Request, notification_id: str, principal: Principal = _ADMIN) -> Retried:
    return _retry(request, [notification_id])


def _retry(request: Request, notification_ids: list[str] | None) -> Retried:
    runtime = runtime_of(request)
    with runtime.locked() as store:
        retried = retry_dead(store, notification_ids, runtime.now())
    runtime.outbox.wake()
    return retried
