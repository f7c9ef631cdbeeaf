"""The names each kind of playbook condition may read, built from the playbook itself.

The scopes are read leniently from the raw YAML before validation (a half-broken playbook
still gets its conditions checked), so that one ``validate`` run reports every error.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from leadgate.domain.traits import (
    BUILTIN_ACCOUNT_TRAITS,
    BUILTIN_LEAD_TRAITS,
    COMPUTED_ACCOUNT_VALUES,
    TRAIT_TYPES,
    TraitType,
)
from leadgate.playbook.conditions.check import ListValue, Scope, event_filter_scope


class ConditionKind(StrEnum):
    """The places a condition can be written."""

    FIT = "fit"
    ACCOUNT_FIT = "account_fit"
    EVENT_FILTER = "event_filter"
    BUYING_ROLE = "buying_role"
    ENGAGED = "engaged"
    LEAD_STATE = "lead_state"


Names = dict[tuple[str, ...], TraitType]

LEAD_SCORE_NAMES: Names = {
    ("fit",): "number",
    ("engagement",): "number",
    ("score",): "number",
}
# The predictive model's probability of conversion (``leadgate predict``): missing without a model.
PREDICTION_NAMES: Names = {("p_convert",): "number"}


def build_scopes(raw: Any) -> dict[ConditionKind, Scope]:
    """The scope of every condition kind, from a (possibly invalid) raw playbook."""
    raw = raw if isinstance(raw, dict) else {}
    lists = _lists(raw.get("lists"))
    lead_traits, account_traits = trait_declarations(raw.get("traits"))
    lead_names: Names = {("lead", name): kind for name, kind in lead_traits.items()}
    account_names: Names = {("account", name): kind for name, kind in account_traits.items()}
    scoring = _object(raw.get("scoring"))
    named_scores: Names = {("scores", name): "number" for name in _keys(scoring.get("scores"))}
    product = _object(scoring.get("product"))
    signals: Names = {("product", name): "number" for name in _keys(product.get("signals"))}
    rollups: Names = {("account", name): kind for name, kind in COMPUTED_ACCOUNT_VALUES.items()}
    scores_elsewhere = "scores are known only after scoring; use them in stages, routing or engaged_when"
    only_leads = "buying roles are decided by a contact's own traits (lead.NAME)"
    return {
        ConditionKind.FIT: Scope(
            where="a fit rule",
            names={**lead_names, **account_names},
            lists=lists,
            elsewhere={
                "fit": scores_elsewhere,
                "engagement": scores_elsewhere,
                "score": scores_elsewhere,
                "scores": scores_elsewhere,
                "product": scores_elsewhere,
                "p_convert": scores_elsewhere,
                "properties": "fit rules read traits; filter events with an engagement rule's 'where:'",
            },
        ),
        ConditionKind.ACCOUNT_FIT: Scope(
            where="an account fit rule",
            names=account_names,
            lists=lists,
            elsewhere={"lead": "account fit rules read the account's traits (account.NAME)"},
        ),
        ConditionKind.EVENT_FILTER: event_filter_scope(lists),
        ConditionKind.BUYING_ROLE: Scope(
            where="a buying role",
            names=lead_names,
            lists=lists,
            elsewhere={"account": only_leads, "fit": only_leads, "engagement": only_leads},
        ),
        ConditionKind.ENGAGED: Scope(
            where="'engaged_when'",
            names={**LEAD_SCORE_NAMES, **named_scores, **signals, **lead_names},
            lists=lists,
            elsewhere={"account": "'engaged_when' decides for one contact; it cannot read the account"},
        ),
        ConditionKind.LEAD_STATE: Scope(
            where="a stage or routing condition",
            names={
                **LEAD_SCORE_NAMES,
                **named_scores,
                **signals,
                **lead_names,
                **account_names,
                **rollups,
                **PREDICTION_NAMES,
            },
            lists=lists,
            allow_events=True,
            elsewhere={"properties": "filter events with 'event NAME where properties.X ... within N days'"},
        ),
    }


def trait_declarations(raw: Any) -> tuple[dict[str, TraitType], dict[str, TraitType]]:
    """Built-in traits plus the playbook's declared ones (well-typed declarations only)."""
    lead = dict(BUILTIN_LEAD_TRAITS)
    account = dict(BUILTIN_ACCOUNT_TRAITS)
    raw = raw if isinstance(raw, dict) else {}
    for target, section in ((lead, raw.get("lead")), (account, raw.get("account"))):
        if isinstance(section, dict):
            for name, kind in section.items():
                if kind in TRAIT_TYPES:
                    target[str(name)] = kind
    return lead, account


def _lists(raw: Any) -> dict[str, ListValue]:
    lists: dict[str, ListValue] = {}
    if isinstance(raw, dict):
        for name, items in raw.items():
            if isinstance(items, list):
                lists[str(name)] = tuple(
                    float(item) if isinstance(item, (int, float)) and not isinstance(item, bool) else str(item)
                    for item in items
                )
    return lists


def _object(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else {}


def _keys(raw: Any) -> list[str]:
    return [str(key) for key in raw] if isinstance(raw, dict) else []
