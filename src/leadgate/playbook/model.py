"""The whole playbook as one typed, immutable model.

Its JSON Schema (``leadgate playbook schema``) is generated from these classes; the loader
(:mod:`leadgate.playbook.loader`) turns YAML into it and every error into ``file:line:column``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, PositiveInt, field_validator, model_validator

from leadgate.domain.traits import (
    BUILTIN_ACCOUNT_TRAITS,
    BUILTIN_LEAD_TRAITS,
    COMPUTED_ACCOUNT_VALUES,
    TraitType,
)
from leadgate.playbook.fields import Name, Strict, problem
from leadgate.playbook.model_handoff import Notification, RoutingRule, Stages, Team
from leadgate.playbook.model_scoring import Accounts, Scoring

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise problem(
            "PB106", f"'{value}' is not a time zone; use a name such as Europe/Paris or America/New_York"
        ) from None
    return value


def _check_clock(value: str) -> str:
    if not _CLOCK.match(value):
        raise problem("PB107", f"'{value}' is not a time of day; write it as HH:MM, e.g. \"09:00\"")
    return value


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]
Clock = Annotated[str, AfterValidator(_check_clock)]


class BusinessHours(Strict):
    days: list[Weekday] = Field(min_length=1)
    start: Clock
    end: Clock

    @model_validator(mode="after")
    def _start_before_end(self) -> BusinessHours:
        if self.start >= self.end:
            raise problem("PB107", f"business hours start ({self.start}) must be before they end ({self.end})")
        return self

    def bounds(self) -> tuple[dt.time, dt.time]:
        return dt.time.fromisoformat(self.start), dt.time.fromisoformat(self.end)


class TraitDeclarations(Strict):
    lead: dict[Name, TraitType] = Field(default_factory=dict)
    account: dict[Name, TraitType] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _no_clash_with_builtins(self) -> TraitDeclarations:
        for section, builtins in (("lead", BUILTIN_LEAD_TRAITS), ("account", BUILTIN_ACCOUNT_TRAITS)):
            for name, kind in getattr(self, section).items():
                if name in builtins and builtins[name] != kind:
                    raise problem(
                        "PB114",
                        f"{section}.{name} is a built-in trait of type {builtins[name]}; it cannot be {kind}",
                    )
                if section == "account" and name in COMPUTED_ACCOUNT_VALUES:
                    raise problem("PB114", f"account.{name} is computed by leadgate; choose another name")
        return self


ListItem = str | float


class Predict(Strict):
    """How the predictive score reads the history (``leadgate train``): which stage counts as
    converted, and after how many days without a decisive move an episode counts as not converted."""

    converts_at: Literal["sql", "won"] = "sql"
    no_progress_days: PositiveInt = 90


class PlaybookModel(Strict):
    """Everything marketing and sales agreed on, in one versioned document."""

    name: str = Field(min_length=1)
    version: PositiveInt
    description: str | None = None
    timezone: TimeZoneName = "UTC"
    business_hours: BusinessHours = Field(
        default_factory=lambda: BusinessHours(days=["mon", "tue", "wed", "thu", "fri"], start="09:00", end="18:00")
    )
    holidays: list[dt.date] = Field(default_factory=list)
    traits: TraitDeclarations = Field(default_factory=TraitDeclarations)
    lists: dict[Name, list[ListItem]] = Field(default_factory=dict)
    scoring: Scoring
    accounts: Accounts = Field(default_factory=Accounts)
    stages: Stages
    routing: list[RoutingRule] = Field(default_factory=list)
    teams: dict[Name, Team] = Field(default_factory=dict)
    notify: list[Notification] = Field(default_factory=list)
    predict: Predict = Field(default_factory=Predict)

    @field_validator("holidays", mode="before")
    @classmethod
    def _dates_as_text(cls, value: Any) -> Any:
        if isinstance(value, list):
            for item in value:
                if isinstance(item, str) and not re.match(r"^\d{4}-\d{2}-\d{2}$", item):
                    raise problem("PB012", f"'{item}' is not a date; write it as YYYY-MM-DD")
        return value
