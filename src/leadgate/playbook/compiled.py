"""A validated playbook, ready to score with: its model, its source, and its rules with ids.

Every scoring rule gets a stable id (``fit_1``, ``engagement_4``, ``analytics_interest_2``,
``account_fit_1``, or the ``id:`` written on the rule). Contributions, explanations and
backtests name rules by these ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from leadgate.playbook.conditions import ast
from leadgate.playbook.fields import Condition
from leadgate.playbook.model import PlaybookModel
from leadgate.playbook.model_scoring import AccountFitRule, EngagementRule, FitRule

ENGAGEMENT = "engagement"
RuleSection = Literal["fit", "engagement", "named", "account_fit"]


@dataclass(frozen=True)
class ScoredRule:
    """One rule of a score, with its id and the words used to explain it."""

    id: str
    section: RuleSection
    score: str  # "fit", "engagement", a named score, or "account_fit"
    label: str
    rule: FitRule | EngagementRule | AccountFitRule

    @property
    def column(self) -> str:
        """The name of this rule's contribution column in scored tables."""
        return f"c_{self.id}"


@dataclass(frozen=True)
class DecayedScore:
    """A score made of engagement rules: ``engagement`` or one of the named scores."""

    name: str
    half_life_days: float | None
    cap_total: float | None
    rules: tuple[ScoredRule, ...]


@dataclass(frozen=True)
class Playbook:
    """A playbook that passed validation. Only such a playbook is ever used to score."""

    model: PlaybookModel
    source: str
    path: str
    rules: tuple[ScoredRule, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(enumerate_rules(self.model)))

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def version(self) -> int:
        return self.model.version

    @cached_property
    def digest(self) -> str:
        """A short fingerprint of the text: two files with one version number but different rules differ."""
        return hashlib.sha256(self.source.encode()).hexdigest()[:12]

    def rules_of(self, section: RuleSection, score: str | None = None) -> tuple[ScoredRule, ...]:
        return tuple(rule for rule in self.rules if rule.section == section and (score is None or rule.score == score))

    @cached_property
    def decayed_scores(self) -> tuple[DecayedScore, ...]:
        """``engagement`` first, then the named scores in the order written."""
        scoring = self.model.scoring
        scores = [
            DecayedScore(
                ENGAGEMENT,
                scoring.engagement.half_life_days,
                scoring.cap_total,
                self.rules_of("engagement"),
            )
        ]
        for name, named in scoring.scores.items():
            scores.append(DecayedScore(name, named.half_life_days, named.cap_total, self.rules_of("named", name)))
        return tuple(scores)

    @cached_property
    def lists(self) -> dict[str, tuple[str | float, ...]]:
        return {name: tuple(items) for name, items in self.model.lists.items()}

    def stage_conditions(self) -> dict[str, Condition]:
        """Every condition that qualifies a lead, by name: mql, pql, each shortcut, sql."""
        stages = self.model.stages
        conditions: dict[str, Condition] = {"mql": stages.mql.when}
        if stages.pql is not None:
            conditions["pql"] = stages.pql.when
        for name, shortcut in stages.shortcuts.items():
            conditions[name] = shortcut.when
        if stages.sql.or_when is not None:
            conditions["sql"] = stages.sql.or_when
        return conditions

    def all_event_clauses(self) -> list[ast.EventClause]:
        """The windowed event clauses of every lead-state condition, each once."""
        conditions = list(self.stage_conditions().values())
        conditions += [rule.when for rule in self.model.routing if rule.when is not None]
        seen: dict[ast.EventClause, None] = {}
        for condition in conditions:
            for clause in ast.event_clauses(condition.node):
                seen.setdefault(_without_offsets(clause), None)
        return list(seen)


def _without_offsets(clause: ast.EventClause) -> ast.EventClause:
    """Two clauses written alike are one counter, wherever they were written."""
    return ast.EventClause(clause.event, clause.where, clause.at_least, clause.within_seconds, 0)


def enumerate_rules(model: PlaybookModel) -> list[ScoredRule]:
    """All scoring rules with their ids, in the order they are written."""
    rules: list[ScoredRule] = []
    for index, fit in enumerate(model.scoring.fit, start=1):
        rules.append(ScoredRule(fit.id or f"fit_{index}", "fit", "fit", fit.label or fit.when.source, fit))
    for index, rule in enumerate(model.scoring.engagement.rules, start=1):
        rules.append(
            ScoredRule(rule.id or f"engagement_{index}", "engagement", ENGAGEMENT, rule.label or describe(rule), rule)
        )
    for name, named in model.scoring.scores.items():
        for index, rule in enumerate(named.rules, start=1):
            rules.append(ScoredRule(rule.id or f"{name}_{index}", "named", name, rule.label or describe(rule), rule))
    for index, account_rule in enumerate(model.accounts.fit, start=1):
        rules.append(
            ScoredRule(
                account_rule.id or f"account_fit_{index}",
                "account_fit",
                "account_fit",
                account_rule.label or account_rule.when.source,
                account_rule,
            )
        )
    return rules


def describe(rule: EngagementRule) -> str:
    """Words for an engagement rule that has no label."""
    text = rule.event.replace("_", " ")
    if rule.where is not None:
        text += f" where {rule.where.source}"
    if rule.at_least is not None:
        text += f", at least {rule.at_least} times within {rule.within_days} days"
    return text
