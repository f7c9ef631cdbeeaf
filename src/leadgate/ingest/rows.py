"""Fact rows as ingestion produces them, before they are staged in a store.

Parsing is pure: a message or a CSV line becomes rows or a :class:`RowProblem`, never a
partial write. Times are UTC without time zone, to the whole second.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any

from leadgate.domain.traits import TraitType
from leadgate.domain.values import format_number


@dataclass(frozen=True)
class EventRow:
    message_id: str
    kind: str
    event: str
    user_id: str | None
    anonymous_id: str | None
    ts: dt.datetime
    received_at: dt.datetime
    path: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    properties: str | None


@dataclass(frozen=True)
class TraitRow:
    fact_id: str
    entity_type: str
    entity_id: str
    name: str
    value: str | None
    learnt_at: dt.datetime


@dataclass(frozen=True)
class IdentityRow:
    fact_id: str
    kind: str  # alias, account or lead
    from_id: str
    to_id: str
    learnt_at: dt.datetime


Row = EventRow | TraitRow | IdentityRow


class RowProblem(ValueError):
    """Why one input row cannot be taken: a stable code, a sentence, and the field."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def parse_time(value: Any, field: str) -> dt.datetime:
    """An ISO 8601 time (or epoch seconds) as naive UTC, truncated to the second."""
    moment = value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = dt.datetime.fromtimestamp(float(value), dt.UTC)
    try:
        if isinstance(moment, str):
            found = _parse_time_text(moment)
        else:
            found = _naive_utc_second(moment) if isinstance(moment, dt.datetime) else None
    except ValueError:
        raise RowProblem("IM003", f"{value!r} is not a time (use ISO 8601, e.g. 2026-11-26T09:30:00Z)", field) from None
    except OverflowError:  # e.g. year 1 at +05:00: before the year 1 in UTC
        raise RowProblem("IM003", f"{value!r} falls outside the years 1 to 9999 once moved to UTC", field) from None
    if found is None:
        raise RowProblem("IM003", "a time is required", field)
    return found


@functools.lru_cache(maxsize=4096)
def _parse_time_text(value: str) -> dt.datetime | None:
    """An ISO 8601 text as naive UTC to the second, None for a blank one (ValueError if it is
    no time, OverflowError if it leaves the years 1 to 9999 in UTC). Kept for recent texts:
    the messages of one Segment batch share its ``sentAt``."""
    text = value.strip()
    if not text:
        return None
    return _naive_utc_second(dt.datetime.fromisoformat(text if "T" in text else text.replace(" ", "T", 1)))


def _naive_utc_second(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


@functools.lru_cache(maxsize=1024)
def snake_case(name: str) -> str:
    """``firstName`` -> ``first_name``, ``Job Title`` -> ``job_title``."""
    spaced = _CAMEL.sub(r"_\1", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def trait_text(value: Any, name: str, kind: TraitType | None) -> str | None:
    """A trait value as stored text, checked against its declared type."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind == "number":
        if isinstance(value, bool):
            raise RowProblem("IM005", f"{value!r} is not a number", name)
        try:
            number = float(str(value).replace(",", "").strip()) if isinstance(value, str) else float(value)
        except ValueError:
            raise RowProblem("IM005", f"{value!r} is not a number", name) from None
        if not math.isfinite(number):
            raise RowProblem("IM005", f"{value!r} is not a finite number", name)
        return format_number(number)
    if kind == "boolean":
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "y"):
            return "true"
        if text in ("false", "no", "0", "n"):
            return "false"
        raise RowProblem("IM005", f"{value!r} is not yes/no (true, false, yes, no, 1, 0)", name)
    if isinstance(value, (dict, list)):
        raise RowProblem("IM005", "a trait must be a single value, not an object or a list", name)
    if isinstance(value, float):
        return format_number(value)
    return str(value).strip()


def fact_id(*parts: object) -> str:
    """A stable id for a fact that has none of its own, from what identifies it."""
    digest = hashlib.sha256("\x1f".join("" if part is None else str(part) for part in parts).encode())
    return digest.hexdigest()[:32]


def email_domain(email: str) -> str | None:
    """The domain of an e-mail address, lowercased (None if it has no '@')."""
    _, at, domain = email.rpartition("@")
    return domain.strip().lower() or None if at else None
