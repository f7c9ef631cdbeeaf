"""Moments in answers: naive UTC inside leadgate, explicit UTC in JSON.

leadgate keeps every moment as a naive ``datetime`` in UTC (the stores hold them so, and a
naive value never meets an aware one in a comparison). JSON readers need the offset: RFC 3339,
which OpenAPI's ``date-time`` is, requires one. :data:`UtcTime` is a ``datetime`` that stays
naive in Python and is written ``2026-11-23T09:00:00Z`` in JSON.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema


def utc_text(moment: dt.datetime) -> str:
    """ISO 8601 with the UTC offset written ``Z`` (a naive moment is taken as UTC)."""
    aware = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return aware.isoformat().replace("+00:00", "Z")


UtcTime = Annotated[
    dt.datetime,
    PlainSerializer(utc_text, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
