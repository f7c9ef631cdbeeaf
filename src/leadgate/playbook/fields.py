"""Field types shared by the playbook models: conditions, names, durations.

A condition field accepts text and holds a parsed, type-checked :class:`Condition`. The scope
it is checked against comes from the validation context (see :mod:`leadgate.playbook.scopes`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from leadgate.domain.events import normalize_event_name
from leadgate.playbook.conditions import ast
from leadgate.playbook.conditions.check import check_condition
from leadgate.playbook.conditions.parser import ConditionSyntaxError, parse_condition
from leadgate.playbook.scopes import ConditionKind


class Strict(BaseModel):
    """Base of every playbook model: unknown keys are errors, values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Condition:
    """A condition as written (``source``) and as parsed (``node``)."""

    source: str
    node: ast.Node

    def __str__(self) -> str:
        return self.source


def problem(code: str, message: str, **context: Any) -> PydanticCustomError:
    """A validation error with one of leadgate's stable codes (see docs/errors.md)."""
    return PydanticCustomError(code, "{message}", {"message": message, **context})


def _condition_validator(kind: ConditionKind) -> Any:
    def validate(value: Any, info: ValidationInfo) -> Condition:
        if isinstance(value, Condition):
            return value
        if not isinstance(value, str):
            raise problem("PB012", "write the condition as text, in quotes")
        try:
            node = parse_condition(value)
        except ConditionSyntaxError as exc:
            raise problem(exc.code, exc.message, offset=exc.offset) from None
        scopes = (info.context or {}).get("scopes")
        if scopes is not None:
            problems = check_condition(node, scopes[kind])
            if problems:
                first, *more = problems
                raise problem(
                    first.code,
                    first.message,
                    offset=first.offset,
                    more=[(item.code, item.message, item.offset) for item in more],
                )
        return Condition(value, node)

    return validate


def _condition_type(kind: ConditionKind, description: str) -> Any:
    return Annotated[
        Condition,
        PlainValidator(_condition_validator(kind), json_schema_input_type=str),
        PlainSerializer(lambda condition: condition.source, return_type=str),
        WithJsonSchema({"type": "string", "description": description}),
    ]


FitCondition = _condition_type(ConditionKind.FIT, "A condition on lead.* and account.* traits")
AccountFitCondition = _condition_type(ConditionKind.ACCOUNT_FIT, "A condition on account.* traits")
EventFilter = _condition_type(ConditionKind.EVENT_FILTER, "A condition on the event's properties.*")
BuyingRoleCondition = _condition_type(ConditionKind.BUYING_ROLE, "A condition on lead.* traits")
EngagedCondition = _condition_type(ConditionKind.ENGAGED, "A condition on one contact's scores")
LeadStateCondition = _condition_type(
    ConditionKind.LEAD_STATE, "A condition on scores, product signals, traits and recent events"
)

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise problem("PB012", f"'{value}' is not a valid name: use lowercase letters, digits and '_' (like no_budget)")
    return value


def _check_event_name(value: str) -> str:
    normal = normalize_event_name(value)
    if value != normal:
        raise problem("PB012", f"write event names in snake case: '{normal}'")
    return value


Name = Annotated[str, AfterValidator(_check_name)]
EventName = Annotated[str, AfterValidator(_check_event_name)]

_DURATION = re.compile(r"^\s*(\d+)\s+(business\s+)?(minute|minutes|hour|hours|day|days)\s*$")


@dataclass(frozen=True)
class Duration:
    """A delay such as ``4 business hours``: counted in business time or on the calendar."""

    amount: int
    unit: str
    business: bool

    @property
    def minutes(self) -> int:
        per_unit = {"minute": 1, "hour": 60, "day": 24 * 60}[self.unit]
        return self.amount * per_unit

    def __str__(self) -> str:
        plural = "" if self.amount == 1 else "s"
        return f"{self.amount} {'business ' if self.business else ''}{self.unit}{plural}"


def _parse_duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    match = _DURATION.match(str(value))
    if not isinstance(value, str) or match is None:
        raise problem("PB012", "write a delay like '4 business hours', '2 days' or '30 minutes'")
    unit = match.group(3).rstrip("s")
    return Duration(int(match.group(1)), unit, bool(match.group(2)))


DurationText = Annotated[
    Duration,
    PlainValidator(_parse_duration, json_schema_input_type=str),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "description": "A delay such as '4 business hours'"}),
]
