"""The scoring half of the playbook: fit and engagement rules, named scores, product signals,
account roll-ups."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from leadgate.playbook.fields import (
    AccountFitCondition,
    BuyingRoleCondition,
    Condition,
    EngagedCondition,
    EventFilter,
    EventName,
    FitCondition,
    Name,
    Strict,
    problem,
)


class FitRule(Strict):
    """Points for who the lead is: ``{when: "account.employees >= 200", points: 20}``."""

    when: FitCondition
    points: float
    label: str | None = None
    id: Name | None = None


class AccountFitRule(Strict):
    """Points for the account itself, read from its traits."""

    when: AccountFitCondition
    points: float
    label: str | None = None
    id: Name | None = None


class EngagementRule(Strict):
    """Points for what the lead did.

    Each matching event gives ``points``, faded by age (half-life) unless ``decay: false``.
    ``cap`` bounds the rule's total, ``max_per_day`` counts at most N events a day, ``once``
    counts the first event only. With ``at_least`` and ``within_days`` the rule is a threshold:
    it gives its points (without decay) while the lead did the event at least N times in the
    trailing window.
    """

    event: EventName
    where: EventFilter | None = None
    points: float
    label: str | None = None
    id: Name | None = None
    cap: PositiveFloat | None = None
    max_per_day: PositiveInt | None = None
    once: bool = False
    decay: bool = True
    half_life_days: PositiveFloat | None = None
    within_days: PositiveInt | None = None
    at_least: PositiveInt | None = None

    @model_validator(mode="after")
    def _options_fit_together(self) -> EngagementRule:
        if self.at_least is not None:
            if self.within_days is None:
                raise problem("PB013", "'at_least' needs 'within_days' (e.g. at least 3 times within 7 days)")
            clashing = [
                name
                for name, value in (
                    ("cap", self.cap),
                    ("max_per_day", self.max_per_day),
                    ("once", self.once or None),
                    ("half_life_days", self.half_life_days),
                )
                if value is not None
            ]
            if clashing:
                raise problem(
                    "PB013",
                    f"a threshold rule ('at_least') gives its points once; remove {', '.join(clashing)}",
                )
        if self.once and self.max_per_day is not None:
            raise problem("PB013", "'once' and 'max_per_day' cannot be combined: 'once' counts one event ever")
        if not self.decay and self.half_life_days is not None:
            raise problem("PB013", "'decay: false' and 'half_life_days' contradict each other; keep one")
        return self

    @property
    def is_threshold(self) -> bool:
        return self.at_least is not None


class NamedScore(Strict):
    """A score of its own (e.g. one per product line), built from engagement rules."""

    half_life_days: PositiveFloat | None = None
    cap_total: PositiveFloat | None = None
    rules: list[EngagementRule] = Field(min_length=1)


class Engagement(Strict):
    half_life_days: PositiveFloat | None = None
    rules: list[EngagementRule] = Field(default_factory=list)


class ProductSignal(Strict):
    """A fact about product usage over the trailing window.

    ``count: events`` counts matching events, ``distinct_days`` the distinct days (in the
    playbook's time zone) with one, ``distinct_values`` the distinct values of ``property``.
    """

    count: Literal["events", "distinct_days", "distinct_values"]
    events: list[EventName] = Field(min_length=1)
    property: Name | None = None
    where: EventFilter | None = None

    @model_validator(mode="after")
    def _property_when_needed(self) -> ProductSignal:
        if self.count == "distinct_values" and self.property is None:
            raise problem("PB011", "'count: distinct_values' needs 'property:' (which value to count)")
        if self.count != "distinct_values" and self.property is not None:
            raise problem("PB013", "'property:' is only used with 'count: distinct_values'")
        return self


class Product(Strict):
    window_days: PositiveInt
    signals: dict[Name, ProductSignal] = Field(min_length=1)


class Scoring(Strict):
    fit: list[FitRule] = Field(default_factory=list)
    engagement: Engagement = Field(default_factory=Engagement)
    cap_total: PositiveFloat | None = None
    scores: dict[Name, NamedScore] = Field(default_factory=dict)
    product: Product | None = None


class ContactRollup(Strict):
    """``{sum_top: 3, of: engagement}``: the sum of the N best contacts' scores."""

    sum_top: PositiveInt
    of: Literal["engagement", "fit", "score"] = "engagement"


class AccountScore(Strict):
    contacts: ContactRollup
    include_fit: bool = True


def _default_engaged() -> Condition:
    from leadgate.playbook.conditions.parser import parse_condition

    return Condition("engagement > 0", parse_condition("engagement > 0"))


class Accounts(Strict):
    fit: list[AccountFitRule] = Field(default_factory=list)
    score: AccountScore | None = None
    buying_roles: dict[Name, BuyingRoleCondition] = Field(default_factory=dict)
    engaged_when: EngagedCondition = Field(default_factory=_default_engaged)
