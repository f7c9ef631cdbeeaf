"""Segment-spec messages (track, page, screen, identify, group, alias) into fact rows.

Follows the Segment spec: ``messageId`` identifies a message; the time of an event is
``timestamp`` if given, else ``originalTimestamp`` corrected by the client's clock skew
(``receivedAt - sentAt``), else ``receivedAt``. Trait names are snake-cased (``firstName`` ->
``first_name``) and event names normalized (``Demo Requested`` -> ``demo_requested``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from leadgate.domain.events import PAGE_EVENT, SCREEN_EVENT, normalize_event_name
from leadgate.domain.traits import BUILTIN_ACCOUNT_TRAITS, BUILTIN_LEAD_TRAITS, TraitType
from leadgate.ingest.rows import (
    EventRow,
    IdentityRow,
    Row,
    RowProblem,
    TraitRow,
    email_domain,
    parse_time,
    snake_case,
    trait_text,
)

MESSAGE_TYPES = ("track", "page", "screen", "identify", "group", "alias")

# Segment's reserved group traits, in leadgate's names.
_GROUP_TRAIT_NAMES = {"employee_count": "employees", "employees": "employees", "website": "domain"}


def message_rows(message: Any, received_at: dt.datetime) -> list[Row]:
    """The fact rows of one Segment message, or :class:`RowProblem`."""
    if not isinstance(message, dict):
        raise RowProblem("IM006", "each line must be a JSON object")
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        raise RowProblem("IM004", f"'type' must be one of {', '.join(MESSAGE_TYPES)}; found {kind!r}", "type")
    message_id = _text(message.get("messageId"))
    if message_id is None:
        raise RowProblem("IM002", "every message needs a messageId (it makes a second copy harmless)", "messageId")
    when = event_time(message, received_at)
    if kind in ("track", "page", "screen"):
        return [_event_row(message, kind, message_id, when, received_at)]
    if kind == "identify":
        return _identify_rows(message, message_id, when)
    if kind == "group":
        return _group_rows(message, message_id, when)
    return [_alias_row(message, message_id, when)]


def event_time(message: dict[str, Any], received_at: dt.datetime) -> dt.datetime:
    """When the event happened, per the Segment spec's rules on client clocks."""
    if message.get("timestamp") is not None:
        return parse_time(message["timestamp"], "timestamp")
    received = parse_time(message["receivedAt"], "receivedAt") if message.get("receivedAt") else received_at
    if message.get("originalTimestamp") is not None:
        original = parse_time(message["originalTimestamp"], "originalTimestamp")
        if message.get("sentAt") is not None:
            skew = received - parse_time(message["sentAt"], "sentAt")
            try:
                return original + skew
            except OverflowError:
                raise RowProblem(
                    "IM003",
                    "corrected by the client's clock (receivedAt - sentAt), this time falls outside the years 1 to 9999",
                    "originalTimestamp",
                ) from None
        return original
    return received


def _ids(message: dict[str, Any]) -> tuple[str | None, str | None]:
    for field in ("userId", "anonymousId"):
        if isinstance(message.get(field), (dict, list, bool)):
            kind = {"dict": "an object", "list": "a list", "bool": "true or false"}[type(message[field]).__name__]
            raise RowProblem("IM006", f"{field} must be a text or a number, not {kind}", field)
    user_id = _text(message.get("userId"))
    anonymous_id = _text(message.get("anonymousId"))
    if user_id is None and anonymous_id is None:
        raise RowProblem("IM002", "a message needs a userId or an anonymousId", "userId")
    return user_id, anonymous_id


def _event_row(
    message: dict[str, Any], kind: str, message_id: str, when: dt.datetime, received_at: dt.datetime
) -> EventRow:
    user_id, anonymous_id = _ids(message)
    properties = message.get("properties") or {}
    if not isinstance(properties, dict):
        raise RowProblem("IM006", "'properties' must be a JSON object", "properties")
    context = _object(message.get("context"))
    if kind == "track":
        name = _text(message.get("event"))
        if name is None:
            raise RowProblem("IM002", "a track message needs an 'event' name", "event")
        event = normalize_event_name(name)
    else:
        event = PAGE_EVENT if kind == "page" else SCREEN_EVENT
        if message.get("name") is not None and "name" not in properties:
            properties = {**properties, "name": message["name"]}
    page = _object(context.get("page"))
    campaign = _object(context.get("campaign"))
    return EventRow(
        message_id=message_id,
        kind=kind,
        event=event,
        user_id=user_id,
        anonymous_id=anonymous_id,
        ts=when,
        received_at=parse_time(message["receivedAt"], "receivedAt") if message.get("receivedAt") else received_at,
        path=_text(properties.get("path")) or _text(page.get("path")),
        utm_source=_text(properties.get("utm_source")) or _text(campaign.get("source")),
        utm_medium=_text(properties.get("utm_medium")) or _text(campaign.get("medium")),
        utm_campaign=_text(properties.get("utm_campaign")) or _text(campaign.get("name")),
        properties=orjson.dumps(properties).decode() if properties else None,
    )


def _identify_rows(message: dict[str, Any], message_id: str, when: dt.datetime) -> list[Row]:
    user_id, anonymous_id = _ids(message)
    rows: list[Row] = []
    if user_id is None:
        return rows  # traits of an anonymous visitor describe no lead yet
    if anonymous_id is not None:
        rows.append(IdentityRow(f"{message_id}:alias", "alias", anonymous_id, user_id, when))
    traits = message.get("traits") or {}
    if not isinstance(traits, dict):
        raise RowProblem("IM006", "'traits' must be a JSON object", "traits")
    rows.extend(lead_trait_rows(traits, user_id, message_id, when))
    return rows


def lead_trait_rows(traits: dict[str, Any], user_id: str, id_prefix: str, when: dt.datetime) -> list[Row]:
    """Trait rows of one lead (plus ``email_domain`` derived from ``email``)."""
    rows: list[Row] = []
    values: dict[str, str | None] = {}
    for raw_name, raw_value in traits.items():
        if isinstance(raw_value, (dict, list)):
            continue  # nested objects (address, company) are not scored traits
        name = snake_case(raw_name)
        values[name] = _trait_value(raw_name, raw_value, name, BUILTIN_LEAD_TRAITS.get(name))
    if values.get("email") and "email_domain" not in values:
        values["email_domain"] = email_domain(values["email"] or "")
    for name, value in values.items():
        rows.append(TraitRow(f"{id_prefix}:{name}", "lead", user_id, name, value, when))
    return rows


def _group_rows(message: dict[str, Any], message_id: str, when: dt.datetime) -> list[Row]:
    user_id, _ = _ids(message)
    group_id = _text(message.get("groupId"))
    if group_id is None:
        raise RowProblem("IM002", "a group message needs a groupId (the account)", "groupId")
    rows: list[Row] = []
    if user_id is not None:
        rows.append(IdentityRow(f"{message_id}:account", "account", user_id, group_id, when))
    traits = message.get("traits") or {}
    if not isinstance(traits, dict):
        raise RowProblem("IM006", "'traits' must be a JSON object", "traits")
    rows.extend(account_trait_rows(traits, group_id, message_id, when))
    return rows


def account_trait_rows(traits: dict[str, Any], account_id: str, id_prefix: str, when: dt.datetime) -> list[Row]:
    """Trait rows of one account, with Segment's reserved names mapped to leadgate's."""
    rows: list[Row] = []
    for raw_name, raw_value in traits.items():
        if isinstance(raw_value, (dict, list)):
            continue
        name = snake_case(raw_name)
        name = _GROUP_TRAIT_NAMES.get(name, name)
        value = _trait_value(raw_name, raw_value, name, BUILTIN_ACCOUNT_TRAITS.get(name))
        rows.append(TraitRow(f"{id_prefix}:{name}", "account", account_id, name, value, when))
    return rows


def _trait_value(raw_name: str, value: Any, name: str, kind: TraitType | None) -> str | None:
    """A trait's stored text; a bad value is placed at the message's own field (``traits.<name>``)."""
    try:
        return trait_text(value, name, kind)
    except RowProblem as problem:
        raise RowProblem(problem.code, problem.message, f"traits.{raw_name}") from None


def _alias_row(message: dict[str, Any], message_id: str, when: dt.datetime) -> IdentityRow:
    user_id = _text(message.get("userId"))
    previous_id = _text(message.get("previousId"))
    if user_id is None or previous_id is None:
        raise RowProblem("IM002", "an alias message needs a previousId and a userId", "previousId")
    return IdentityRow(f"{message_id}:alias", "alias", previous_id, user_id, when)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text or None


def parse_json_line(line: bytes) -> Any:
    """One JSON line, or :class:`RowProblem` saying what is wrong with it."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise RowProblem("IM001", f"this line is not valid JSON ({exc.msg})") from None
