"""Features of leads as of a moment, from the facts known at that moment and never after.

Each row of ``moments`` (``lead_key``, ``episode``, ``moment``) gets: the fit traits the
playbook knows (the latest value learnt at or before the moment, the lead's and its account's),
event counts per event name (all along and over the last 30 days), counts over 7/30/90 days,
recency, active days (product usage), and account roll-ups (contacts, their recent
engagement). Every fact is filtered by its own time (``ts``, ``learnt_at``) against the row's
moment, so an episode's features cannot see what happened after it qualified: the leakage
test adds later facts and checks that nothing changes.

The facts side is one set-based Ibis expression (joins of moments with events, traits and
identities), run by the store's engine. The rule signals are read apart: an episode's from the
``contributions`` its qualifying transition recorded, a current lead's from ``lead_scores``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import ibis
import ibis.expr.types as ir
import pandas as pd

from leadgate.domain.traits import BUILTIN_ACCOUNT_TRAITS, BUILTIN_LEAD_TRAITS, PERSONAL_LEAD_TRAITS
from leadgate.playbook.compiled import Playbook
from leadgate.playbook.model import PlaybookModel
from leadgate.store.facts import Facts

WINDOWS = (7, 30, 90)  # days
RECENT = 30  # days: per-event counts and account engagement over this window
DAY_SECONDS = 86_400
KEY = ("lead_key", "episode")
_NOT_FIT = frozenset({"name", "domain", "owner"})  # account traits that name rather than describe


def fit_traits(model: PlaybookModel) -> dict[str, dict[str, str]]:
    """The lead and account traits used as features, with their types: the built-in ones
    that describe (not identify) a person or company, and those the playbook declares."""
    lead = {n: t for n, t in BUILTIN_LEAD_TRAITS.items() if n not in PERSONAL_LEAD_TRAITS} | model.traits.lead
    account = {n: t for n, t in BUILTIN_ACCOUNT_TRAITS.items() if n not in _NOT_FIT} | model.traits.account
    return {"lead": dict(lead), "account": dict(account)}


def fact_features(facts: Facts, moments: ir.Table, model: PlaybookModel, event_names: Iterable[str]) -> ir.Table:
    """One row per (lead_key, episode) of ``moments``: features from facts at or before its moment."""
    traits = fit_traits(model)
    base = moments.select(*KEY, "moment")
    account = _account_of(facts, base)
    parts = [
        _event_features(facts, base, tuple(event_names)),
        _latest_traits(facts, base, "lead", traits["lead"]),
        _latest_traits(facts, account, "account", traits["account"]),
        _account_rollups(facts, account),
    ]
    joined = base
    for part in parts:
        joined = joined.left_join(part, [joined[name] == part[name] for name in KEY]).drop(
            *(f"{name}_right" for name in KEY)
        )
    return joined.drop("moment")


def _days_before(moment: ir.Value, ts: ir.Value) -> ir.Value:
    return (moment.epoch_seconds() - ts.epoch_seconds()).cast("float64") / DAY_SECONDS


def _event_features(facts: Facts, base: ir.Table, event_names: tuple[str, ...]) -> ir.Table:
    events = facts.events.select(event_key=facts.events.lead_key, event=facts.events.event, ts=facts.events.ts)
    seen = base.join(events, [base.lead_key == events.event_key, events.ts <= base.moment])
    age = _days_before(seen.moment, seen.ts)
    counts = {f"events_{days}d": _count_if(age < days) for days in WINDOWS}
    per_name = {f"n_{name}": _count_if(seen.event == name) for name in event_names}
    recent = {f"n{RECENT}_{name}": _count_if((seen.event == name) & (age < RECENT)) for name in event_names}
    return seen.group_by(*KEY).aggregate(
        events_total=seen.count(),
        days_since_last_event=age.min(),
        days_since_first_event=age.max(),
        active_days_30d=ibis.ifelse(age < RECENT, seen.ts.date(), ibis.null("date")).nunique(),
        **counts,
        **per_name,
        **recent,
    )


def _count_if(condition: ir.BooleanValue) -> ir.IntegerScalar:
    """How many rows meet ``condition`` (PostgreSQL cannot cast a boolean to a number)."""
    return ibis.ifelse(condition, 1, 0).sum()


def _latest_traits(facts: Facts, rows: ir.Table, entity: str, names: dict[str, str]) -> ir.Table:
    """The latest value of each trait learnt at or before the moment, one column per trait
    (as text: :func:`typed_frame` gives them their types)."""
    traits = facts.traits.filter((facts.traits.entity_type == entity) & facts.traits.name.isin(list(names)))
    same = rows.lead_key == traits.entity_key if entity == "lead" else rows.account_id == traits.entity_id
    known = rows.join(traits, [same, traits.learnt_at <= rows.moment])
    latest = known.mutate(
        rank=ibis.row_number().over(
            group_by=[known.lead_key, known.episode, known.name],
            order_by=[known.learnt_at.desc(), known.seq.desc()],
        )
    )
    latest = latest.filter(latest["rank"] == 0)
    columns = {
        f"{entity}_{name}": ibis.ifelse(latest.name == name, latest.value, ibis.null("string")).max() for name in names
    }
    return latest.group_by(*KEY).aggregate(**columns)


def _account_of(facts: Facts, base: ir.Table) -> ir.Table:
    """Each row's account as of its moment (rows without one are left out)."""
    links = facts.identities.filter(facts.identities.kind == "account")
    known = base.join(links, [base.lead_key == links.entity_key, links.learnt_at <= base.moment])
    ranked = known.mutate(
        rank=ibis.row_number().over(
            group_by=[known.lead_key, known.episode], order_by=[known.learnt_at.desc(), known.seq.desc()]
        )
    )
    return ranked.filter(ranked["rank"] == 0).select(*KEY, "moment", account_id=ranked.to_id)


def _account_rollups(facts: Facts, account: ir.Table) -> ir.Table:
    """How many contacts the account had at the moment, and how many were active lately."""
    identities = facts.identities.view()
    links = identities.filter(identities.kind == "account")
    links = links.select(member_account=links.to_id, member_key=links.entity_key, member_since=links.learnt_at)
    members = account.join(links, [account.account_id == links.member_account, links.member_since <= account.moment])
    contacts = members.group_by(*KEY).aggregate(account_contacts=members.member_key.nunique())
    all_events = facts.events.view()
    events = all_events.select(event_key=all_events.lead_key, ts=all_events.ts)
    active = members.join(
        events,
        [
            members.member_key == events.event_key,
            events.ts <= members.moment,
            events.ts > members.moment - ibis.interval(days=RECENT),
        ],
    )
    engagement = active.group_by(*KEY).aggregate(
        account_events_30d=active.count(), account_active_contacts_30d=active.member_key.nunique()
    )
    return contacts.left_join(engagement, [contacts[name] == engagement[name] for name in KEY]).drop(
        *(f"{name}_right" for name in KEY)
    )


def typed_frame(frame: pd.DataFrame, model: PlaybookModel) -> tuple[pd.DataFrame, list[str]]:
    """The features with their types (numbers as floats, counts with 0 for none) and the names
    of the categorical columns."""
    typed = frame.copy()
    categorical = []
    for entity, names in fit_traits(model).items():
        for name, kind in names.items():
            column = f"{entity}_{name}"
            if column not in typed:
                continue
            if kind == "number":
                typed[column] = pd.to_numeric(typed[column], errors="coerce").astype("float64")
            else:
                typed[column] = typed[column].astype("object")
                categorical.append(column)
    for column in typed.columns:
        counted = column.startswith(("n_", f"n{RECENT}_", "events_", "account_")) or column == "active_days_30d"
        if counted and column not in categorical:
            typed[column] = pd.to_numeric(typed[column], errors="coerce").fillna(0).astype("float64")
    return typed, categorical


def rule_signals(contributions: pd.Series) -> pd.DataFrame:
    """Each rule's points at the qualifying moment, from the transitions' ``contributions``
    JSON (``[{rule, points}]``): one ``rule_<id>`` column per rule, 0 where it gave nothing."""
    rows = [
        {f"rule_{item['rule']}": float(item["points"]) for item in json.loads(text)} if isinstance(text, str) else {}
        for text in contributions
    ]
    return pd.DataFrame(rows, index=contributions.index).fillna(0.0)


def rule_signals_of_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """The same columns from a scored table's ``c_<rule>`` contribution columns."""
    columns = {f"rule_{name[2:]}": scores[name] for name in scores.columns if name.startswith("c_")}
    return pd.DataFrame(columns, index=scores.index).astype("float64").fillna(0.0)


def feature_label(playbook: Playbook, feature: str) -> str:
    """A feature as a person reads it: a rule's signal by the rule's label, others in words."""
    if feature.startswith("rule_"):
        for rule in playbook.rules:
            if rule.column == f"c_{feature[5:]}":
                return f"points from {rule.label} ({rule.id})"
    return feature.replace("_", " ")
