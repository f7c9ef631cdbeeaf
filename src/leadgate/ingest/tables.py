"""Flat tables (CSV, Parquet) into fact rows: events, leads and accounts.

Column names can be mapped with ``--map TARGET=SOURCE`` (e.g. ``lead_id=Contact ID`` for a
HubSpot export). Unmapped columns keep their own name, snake-cased, and become traits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from leadgate.domain.events import PAGE_EVENT, normalize_event_name
from leadgate.domain.traits import TraitType
from leadgate.errors import InputError
from leadgate.ingest.rows import (
    EventRow,
    IdentityRow,
    Row,
    RowProblem,
    TraitRow,
    email_domain,
    fact_id,
    parse_time,
    snake_case,
    trait_text,
)

EVENT_COLUMNS = ("message_id", "user_id", "anonymous_id", "event", "timestamp", "properties")


@dataclass(frozen=True)
class ColumnMap:
    """``target -> source column`` pairs given with ``--map``."""

    pairs: Mapping[str, str]

    @classmethod
    def parse(cls, options: Iterable[str]) -> ColumnMap:
        """Read ``--map`` values: ``a=Col A,b=Col B`` or one pair per option."""
        pairs: dict[str, str] = {}
        for option in options:
            for item in _split_pairs(option):
                target, equals, source = item.partition("=")
                if not equals or not target.strip() or not source.strip():
                    raise InputError(f"--map {item!r}: write TARGET=SOURCE, e.g. lead_id='Contact ID'")
                pairs[target.strip()] = source.strip().strip("'\"")
        return cls(pairs)

    def apply(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """The record with mapped columns renamed and every other column snake-cased."""
        sources = set(self.pairs.values())
        renamed = {target: fields.get(source) for target, source in self.pairs.items()}
        for name, value in fields.items():
            if name.startswith("__"):
                renamed[name] = value
            elif name not in sources:
                renamed.setdefault(snake_case(name), value)
        return renamed

    def check_columns(self, columns: Iterable[str], required: Iterable[str], file: str) -> None:
        """Every mapped source exists and every required target is present, or say so."""
        present = set(columns)
        missing_sources = [source for source in self.pairs.values() if source not in present]
        if missing_sources:
            raise InputError(
                f"{file}: --map names column(s) not in the file: {', '.join(missing_sources)} "
                f"(its columns are: {', '.join(sorted(present))})"
            )
        targets = set(self.pairs) | {snake_case(name) for name in present}
        absent = [name for name in required if name not in targets]
        if absent:
            raise InputError(
                f"{file}: no column for {', '.join(absent)}; add one or map it, e.g. --map {absent[0]}='Your Column'"
            )


def _split_pairs(option: str) -> list[str]:
    parts: list[str] = []
    current = ""
    quote = ""
    for char in option:
        if char in "'\"" and (not quote or quote == char):
            quote = "" if quote else char
        if char == "," and not quote:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def flat_event_rows(fields: Mapping[str, Any], received_at: dt.datetime) -> list[Row]:
    """A row of ``message_id, user_id, anonymous_id, event, timestamp, properties``."""
    _check_width(fields)
    message_id = _cell(fields.get("message_id"))
    if message_id is None:
        raise RowProblem("IM002", "a message_id is required", "message_id")
    user_id = _cell(fields.get("user_id"))
    anonymous_id = _cell(fields.get("anonymous_id"))
    if user_id is None and anonymous_id is None:
        raise RowProblem("IM002", "a user_id or an anonymous_id is required", "user_id")
    name = _cell(fields.get("event"))
    if name is None:
        raise RowProblem("IM002", "an event name is required", "event")
    properties = _properties(fields.get("properties"))
    event = normalize_event_name(name)
    return [
        EventRow(
            message_id=message_id,
            kind="page" if event == PAGE_EVENT else "track",
            event=event,
            user_id=user_id,
            anonymous_id=anonymous_id,
            ts=parse_time(fields.get("timestamp"), "timestamp"),
            received_at=received_at,
            path=_cell(properties.get("path")),
            utm_source=_cell(properties.get("utm_source")),
            utm_medium=_cell(properties.get("utm_medium")),
            utm_campaign=_cell(properties.get("utm_campaign")),
            properties=orjson.dumps(properties).decode() if properties else None,
        )
    ]


def lead_rows(
    fields: Mapping[str, Any], digest: str, imported_at: dt.datetime, trait_types: Mapping[str, TraitType]
) -> list[Row]:
    """A lead's traits (and its account membership, from ``account_id``)."""
    _check_width(fields)
    lead_id = _cell(fields.get("lead_id"))
    if lead_id is None:
        raise RowProblem("IM002", "a lead_id is required", "lead_id")
    learnt_at, stamp = _learnt_at(fields, digest, imported_at)
    values = _trait_values(fields, ("lead_id", "account_id", "learnt_at"), trait_types)
    if values.get("email") and not values.get("email_domain"):
        values["email_domain"] = email_domain(values["email"] or "")
    # The lead is known from this row even when all its other cells are empty.
    rows: list[Row] = [IdentityRow(fact_id("known", lead_id, stamp), "lead", lead_id, lead_id, learnt_at)]
    rows += [
        TraitRow(fact_id("lead", lead_id, name, value, stamp), "lead", lead_id, name, value, learnt_at)
        for name, value in values.items()
    ]
    account_id = _cell(fields.get("account_id"))
    if account_id is not None:
        rows.append(
            IdentityRow(fact_id("account", lead_id, account_id, stamp), "account", lead_id, account_id, learnt_at)
        )
    return rows


def account_rows(
    fields: Mapping[str, Any], digest: str, imported_at: dt.datetime, trait_types: Mapping[str, TraitType]
) -> list[Row]:
    """An account's traits."""
    _check_width(fields)
    account_id = _cell(fields.get("account_id"))
    if account_id is None:
        raise RowProblem("IM002", "an account_id is required", "account_id")
    learnt_at, stamp = _learnt_at(fields, digest, imported_at)
    values = _trait_values(fields, ("account_id", "learnt_at"), trait_types)
    return [
        TraitRow(fact_id("account", account_id, name, value, stamp), "account", account_id, name, value, learnt_at)
        for name, value in values.items()
    ]


def _learnt_at(fields: Mapping[str, Any], digest: str, imported_at: dt.datetime) -> tuple[dt.datetime, str]:
    """When the traits were learnt: the ``learnt_at`` column, or the import's time.

    Without a column, fact ids depend on the file's content (``digest``), so importing the
    same file again adds nothing.
    """
    if _cell(fields.get("learnt_at")) is not None:
        moment = parse_time(fields["learnt_at"], "learnt_at")
        return moment, moment.isoformat()
    return imported_at, digest


def _trait_values(
    fields: Mapping[str, Any], skip: tuple[str, ...], trait_types: Mapping[str, TraitType]
) -> dict[str, str | None]:
    """The row's trait values. An empty cell says nothing (it does not erase a known value)."""
    values: dict[str, str | None] = {}
    for name, raw in fields.items():
        if name in skip or name.startswith("__") or not name:
            continue
        value = trait_text(_cell(raw), name, trait_types.get(name))
        if value is not None:
            values[name] = value
    return values


def _properties(value: Any) -> dict[str, Any]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = orjson.loads(value)
    except (orjson.JSONDecodeError, TypeError):
        raise RowProblem("IM006", 'properties must be a JSON object, e.g. {"path": "/pricing"}', "properties") from None
    if not isinstance(parsed, dict):
        raise RowProblem("IM006", 'properties must be a JSON object, e.g. {"path": "/pricing"}', "properties")
    return parsed


def _check_width(fields: Mapping[str, Any]) -> None:
    width = fields.get("__width__")
    if width:
        found, expected = width
        raise RowProblem("IM007", f"this row has {found} values but the header has {expected} columns")


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None
