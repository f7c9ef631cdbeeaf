"""Ingestion compatible with the Segment HTTP Tracking API.

``POST /v1/track``, ``/v1/page``, ``/v1/screen``, ``/v1/identify``, ``/v1/group``,
``/v1/alias`` take one message, ``/v1/batch`` a list of them, as Segment does: the write key
in HTTP basic auth (or ``writeKey`` in the body), gzip bodies, at most 32 KB a message and
500 KB a batch (400 beyond). Unlike Segment, a message that cannot be taken is not dropped
silently: the whole request is refused with every problem listed, and nothing is stored.
An answer ``{"success": true}`` means the facts are committed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from leadgate.api.auth import MISSING_KEY, presented_key, runtime_of
from leadgate.api.body import json_body
from leadgate.api.problems import PROBLEM_RESPONSES
from leadgate.errors import InputError, Issue, NotAuthenticated, TooLarge
from leadgate.ingest.rows import Row, RowProblem
from leadgate.ingest.segment import message_rows

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
INGEST_ROLES = ("ingest", "admin")
SINGLE_MESSAGE_TYPES = ("track", "page", "screen", "identify", "group", "alias")

router = APIRouter(tags=["ingestion (Segment spec)"])


class Accepted(BaseModel):
    """Segment's answer: the messages are stored."""

    success: bool = True


_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A message of the Segment spec (https://segment.com/docs/connections/spec/).",
    "properties": {
        "type": {"type": "string", "enum": list(SINGLE_MESSAGE_TYPES)},
        "messageId": {"type": "string"},
        "userId": {"type": "string"},
        "anonymousId": {"type": "string"},
        "event": {"type": "string"},
        "name": {"type": "string"},
        "groupId": {"type": "string"},
        "previousId": {"type": "string"},
        "properties": {"type": "object"},
        "traits": {"type": "object"},
        "context": {"type": "object"},
        "timestamp": {"type": "string", "format": "date-time"},
        "originalTimestamp": {"type": "string", "format": "date-time"},
        "sentAt": {"type": "string", "format": "date-time"},
    },
}
_BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["batch"],
    "properties": {
        "batch": {"type": "array", "items": _MESSAGE_SCHEMA},
        "sentAt": {"type": "string", "format": "date-time"},
        "writeKey": {"type": "string"},
    },
}


def _body_doc(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.post(
    "/v1/batch",
    response_model=Accepted,
    responses=PROBLEM_RESPONSES,
    openapi_extra=_body_doc(_BATCH_SCHEMA),
    summary="Send up to 500 KB of messages",
)
async def post_batch(request: Request, key: str | None = Depends(presented_key)) -> Accepted:
    body = await json_body(request, MAX_BATCH_BYTES)
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        raise InputError('a batch is a JSON object with a list of messages: {"batch": [...]}')
    return await _take(request, key, body, body["batch"], None)


def _single(kind: str) -> Any:
    async def post_message(request: Request, key: str | None = Depends(presented_key)) -> Accepted:
        body = await json_body(request, MAX_MESSAGE_BYTES)
        if not isinstance(body, dict):
            raise InputError(f"a {kind} message is a JSON object")
        return await _take(request, key, body, [body], kind)

    post_message.__name__ = f"post_{kind}"
    return post_message


for _kind in SINGLE_MESSAGE_TYPES:
    router.post(
        f"/v1/{_kind}",
        response_model=Accepted,
        responses=PROBLEM_RESPONSES,
        openapi_extra=_body_doc(_MESSAGE_SCHEMA),
        summary=f"Send one {_kind} message",
    )(_single(_kind))


async def _take(
    request: Request, key: str | None, body: dict[str, Any], messages: list[Any], kind: str | None
) -> Accepted:
    runtime = runtime_of(request)
    key = key or (body.get("writeKey") if isinstance(body.get("writeKey"), str) else None)
    if not key:
        raise NotAuthenticated(MISSING_KEY)
    # A key not checked lately is checked on a thread: that takes the lock a cycle holds
    principal = runtime.known_principal(key)
    if principal is None:
        principal = await asyncio.to_thread(runtime.principal, key)
    principal.require(*INGEST_ROLES)
    rows = message_fact_rows(messages, kind, body.get("sentAt"), runtime.now())
    if rows:  # built here, while the intake's thread commits earlier requests
        await asyncio.wrap_future(runtime.intake.submit(runtime.intake.tables_of(rows), len(messages)))
    return Accepted()


def message_fact_rows(messages: list[Any], kind: str | None, sent_at: Any, received_at: Any) -> list[Row]:
    """The fact rows of the messages of one request, or an :class:`InputError` listing every bad one."""
    rows: list[Row] = []
    issues: list[Issue] = []
    for index, message in enumerate(messages):
        where = "body" if kind else f"batch[{index}]"
        if not isinstance(message, dict):
            issues.append(Issue(where, 0, 0, "IM006", "a message is a JSON object"))
            continue
        if kind is None and len(orjson.dumps(message)) > MAX_MESSAGE_BYTES:
            raise TooLarge(f"{where} is over {MAX_MESSAGE_BYTES // 1024} KB, Segment's limit for one message")
        # receivedAt is the server's to set; a batch's sentAt stands for its messages' own
        message = {name: value for name, value in message.items() if name not in ("receivedAt", "writeKey")}
        if kind is not None:
            message["type"] = kind
        if sent_at is not None and "sentAt" not in message:
            message["sentAt"] = sent_at
        try:
            rows += message_rows(message, received_at)
        except RowProblem as problem:
            place = f"{where}.{problem.field}" if problem.field else where
            issues.append(Issue(place, 0, 0, problem.code, problem.message))
    if issues:
        count = f"{len(issues)} of {len(messages)} messages" if kind is None else "the message"
        raise InputError(f"{count} cannot be taken; nothing was stored (see errors)", issues)
    return rows
