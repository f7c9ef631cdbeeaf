"""The hand-off half of the playbook: stages, rejection reasons, routing, teams, notifications."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    NonNegativeInt,
    PlainSerializer,
    PlainValidator,
    PositiveInt,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from leadgate.domain.stages import STAGE_NAMES
from leadgate.playbook.fields import Duration, DurationText, LeadStateCondition, Name, Strict, problem


class QualifyingStage(Strict):
    when: LeadStateCondition
    label: str | None = None


class Shortcut(Strict):
    """A named extra way into a qualifying stage (fast track, hot pricing interest, ...)."""

    when: LeadStateCondition
    goes_to: Literal["mql", "pql"]
    label: str | None = None


class RejectReason(Strict):
    then: Literal["disqualify", "recycle", "merge"]
    cool_off_days: NonNegativeInt | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _cool_off_for_recycle(self) -> RejectReason:
        if self.then == "recycle" and self.cool_off_days is None:
            raise problem("PB011", "a reason that recycles needs 'cool_off_days' (0 to allow at once)")
        if self.then != "recycle" and self.cool_off_days is not None:
            raise problem("PB013", f"'cool_off_days' only applies to 'then: recycle', not '{self.then}'")
        return self


class SalStage(Strict):
    enabled: bool = True
    sla: DurationText | None = None
    on_sla_breach: Literal["reassign", "escalate", "recycle"] = "escalate"
    reject_reasons: dict[Name, RejectReason] = Field(min_length=1)

    @field_validator("sla")
    @classmethod
    def _some_time_to_decide(cls, sla: Duration | None) -> Duration | None:
        if sla is not None and sla.amount < 1:
            raise problem("PB012", "an SLA of zero leaves nobody time to decide; write e.g. '4 business hours'")
        return sla


class SqlStage(Strict):
    checklist: list[Name] = Field(default_factory=lambda: ["budget", "authority", "need", "timeline"])
    or_when: LeadStateCondition | None = None


class RecycleStage(Strict):
    reset_engagement: bool = False


class Stages(Strict):
    """The fixed stages plus any named shortcut (``fast_track: {when: ..., goes_to: mql}``)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, Shortcut] = Field(init=False)

    mql: QualifyingStage
    pql: QualifyingStage | None = None
    sal: SalStage
    sql: SqlStage = Field(default_factory=SqlStage)
    recycle: RecycleStage = Field(default_factory=RecycleStage)
    disqualify_reasons: list[Name] = Field(
        default_factory=lambda: ["not_icp", "student", "competitor", "spam", "duplicate"]
    )

    @property
    def shortcuts(self) -> dict[str, Shortcut]:
        return dict(self.__pydantic_extra__ or {})


ROUTE_TARGET = re.compile(r"^(account_owner|team\s+([a-z][a-z0-9_]*)|rep\s+([a-z][a-z0-9_.\-]*))$")


@dataclass(frozen=True)
class RouteTarget:
    """Where a routing rule sends a lead: the account owner, a team, or one rep."""

    kind: Literal["account_owner", "team", "rep"]
    name: str | None = None

    def __str__(self) -> str:
        return self.kind if self.name is None else f"{self.kind} {self.name}"


def _parse_target(value: Any) -> RouteTarget:
    if isinstance(value, RouteTarget):
        return value
    match = ROUTE_TARGET.match(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        raise problem("PB012", "write 'account_owner', 'team NAME' or 'rep NAME'")
    if match.group(2):
        return RouteTarget("team", match.group(2))
    if match.group(3):
        return RouteTarget("rep", match.group(3))
    return RouteTarget("account_owner")


RouteTargetText = Annotated[
    RouteTarget,
    PlainValidator(_parse_target, json_schema_input_type=str),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "description": "account_owner, team NAME or rep NAME"}),
]


class RoutingRule(Strict):
    when: LeadStateCondition | None = None
    to: RouteTargetText
    method: Literal["round_robin", "weighted", "least_loaded"] | None = None
    weights: dict[str, PositiveInt] | None = None
    max_open_per_rep: PositiveInt | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _method_matches_target(self) -> RoutingRule:
        if self.to.kind != "team" and self.method is not None:
            raise problem("PB013", f"'method' chooses a rep inside a team; '{self.to}' is not a team")
        if self.method == "weighted" and not self.weights:
            raise problem("PB011", "'method: weighted' needs 'weights' (e.g. {alice: 2, bruno: 1})")
        if self.weights and self.method != "weighted":
            raise problem("PB013", "'weights' are only used with 'method: weighted'")
        return self


class Team(Strict):
    members: list[str] = Field(min_length=1)
    manager: str


NOTIFY_TRIGGER = re.compile(r"^(stage becomes ([a-z_]+)|sla breached|assigned)$")


@dataclass(frozen=True)
class Trigger:
    """When a notification fires: a stage change, an assignment or an SLA breach."""

    kind: Literal["stage", "assigned", "sla_breached"]
    stage: str | None = None

    def __str__(self) -> str:
        if self.kind == "stage":
            return f"stage becomes {self.stage}"
        return "sla breached" if self.kind == "sla_breached" else "assigned"


def _parse_trigger(value: Any) -> Trigger:
    if isinstance(value, Trigger):
        return value
    match = NOTIFY_TRIGGER.match(" ".join(str(value).split())) if isinstance(value, str) else None
    if match is None:
        raise problem("PB012", "write 'stage becomes STAGE', 'assigned' or 'sla breached'")
    if match.group(2):
        if match.group(2) not in STAGE_NAMES:
            raise problem("PB109", f"'{match.group(2)}' is not a stage; stages are: {', '.join(STAGE_NAMES)}")
        return Trigger("stage", match.group(2))
    return Trigger("assigned" if match.group(1) == "assigned" else "sla_breached")


TriggerText = Annotated[
    Trigger,
    PlainValidator(_parse_trigger, json_schema_input_type=str),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "description": "stage becomes STAGE, assigned or sla breached"}),
]


class Notification(Strict):
    on: TriggerText
    send: Literal["webhook", "email"]
    url: str | None = None
    to: str | None = None

    @model_validator(mode="after")
    def _target_for_channel(self) -> Notification:
        if self.send == "webhook":
            if not self.url or not re.match(r"^https?://", self.url):
                raise problem("PB011", "a webhook needs 'url:' starting with http:// or https://")
        elif not self.to:
            raise problem("PB011", "an e-mail needs 'to:' (owner, manager or an address)")
        return self
