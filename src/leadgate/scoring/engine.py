"""The scoring engine: a playbook and the facts, as of a moment, into one row per lead.

:func:`score_leads` returns an Ibis expression; nothing runs until a store materialises it,
so the same expression runs on DuckDB, Spark or PostgreSQL. Its columns:

- ``lead_key``, ``lead_id``, ``account_id``
- ``fit``, ``engagement``, ``score`` (fit + engagement), ``score_<name>`` per named score
- ``product_<signal>`` per product signal
- ``account_fit``, ``account_score``, ``account_coverage`` (missing for leads without account)
- ``q_<condition>`` per stage condition (mql, pql, each shortcut, sql), and ``qualifies_as``:
  ``pql``, ``mql`` or ``inquiry``, the stage these conditions point to (the lifecycle decides
  whether and when the lead actually moves)
- ``r_<i>`` per routing rule with a condition (i: its position, from 0)
- ``account__name``, ``account__owner``: for display and routing
- ``c_<rule id>`` per rule: the points it gave after decay and caps; ``c_<score>_cap`` the
  (negative) adjustment of a score's ``cap_total``. The ``c_`` columns of a score add up to it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import ibis
import ibis.expr.types as ir

from leadgate.domain.traits import TraitType
from leadgate.playbook.compiled import ENGAGEMENT, DecayedScore, Playbook, ScoredRule
from leadgate.playbook.conditions import ast
from leadgate.playbook.model_scoring import EngagementRule
from leadgate.playbook.scopes import trait_declarations
from leadgate.scoring.conditions import ConditionCompiler
from leadgate.scoring.events import EventAggregates, EventPlan, decay_factor, rule_half_life
from leadgate.scoring.moment import Moment, fixed_moment
from leadgate.scoring.snapshots import account_membership, trait_snapshot
from leadgate.store.facts import Facts

LEAD_PREFIX = "lead__"
ACCOUNT_PREFIX = "account__"
DISPLAY_ACCOUNT_TRAITS = ("name", "owner")


def score_column(score: str) -> str:
    """The column of a decayed score: ``engagement`` or ``score_<name>``."""
    return ENGAGEMENT if score == ENGAGEMENT else f"score_{score}"


def routing_column(index: int) -> str:
    """The flag saying whether routing rule ``index`` (from 0) holds for a lead."""
    return f"r_{index}"


def cap_column(score: str) -> str:
    return f"c_{score}_cap"


def score_leads(
    facts: Facts,
    playbook: Playbook,
    as_of: dt.datetime | Moment,
    only_keys: ir.Table | None = None,
    engagement_since: ir.Table | None = None,
    event_aggregates: EventAggregates | None = None,
    traits: ir.Table | None = None,
) -> ir.Table:
    """Every lead's scores and per-rule contributions as of ``as_of`` (naive UTC, or a
    :class:`~leadgate.scoring.moment.Moment` read when the query runs).

    ``only_keys`` (``lead_key``) scores only those leads; ``engagement_since`` (``lead_key``,
    ``since``) restarts the engagement of recycled leads at ``since``. ``event_aggregates``:
    the leads' event aggregates as of ``as_of``, already computed (by
    :class:`~leadgate.scoring.event_state.EventState`), instead of from their events.
    ``traits``: the trait facts to read instead of every one (the latest ones, kept by
    :class:`~leadgate.scoring.trait_state.TraitState`).
    """
    as_of = fixed_moment(as_of)
    known = facts if traits is None else replace(facts, traits=traits)
    lead_traits, account_traits = _used_traits(playbook)
    leads = facts.leads()
    if only_keys is not None:
        leads = leads.filter(leads.lead_key.isin(only_keys.lead_key))
    membership = account_membership(facts, as_of, only_keys)
    table = left_join(leads, membership, "lead_key")
    lead_snapshot = trait_snapshot(known, "lead", lead_traits, as_of, "entity_key", _as_entity(only_keys))
    table = left_join(
        table,
        lead_snapshot.rename({f"{LEAD_PREFIX}{name}": name for name in lead_traits} | {"lead_key": "entity_key"}),
        "lead_key",
    )
    account_snapshot = trait_snapshot(
        known, "account", account_traits, as_of, "entity_id", _their_accounts(membership, only_keys)
    )
    table = left_join(
        table,
        account_snapshot.rename(
            {f"{ACCOUNT_PREFIX}{name}": name for name in account_traits} | {"account_id": "entity_id"}
        ),
        "account_id",
    )
    if uses_prediction(playbook):
        table = _with_prediction(table, facts)
    aggregates = event_aggregates or EventPlan(playbook, facts, as_of, engagement_since).aggregate(only_keys)
    table = left_join(table, aggregates.main, "lead_key")
    if aggregates.daily is not None:
        table = left_join(table, aggregates.daily, "lead_key")
    table = _contributions(table, playbook, as_of)
    table = _accounts(table, playbook)
    table = _stages(table, playbook, aggregates)
    return table.select(*output_columns(playbook))


def qualify_aggregated(
    table: ir.Table, playbook: Playbook, as_of: Moment, clauses: dict[ast.EventClause, str]
) -> ir.Table:
    """Contributions, scores, stage and routing flags of a table that already holds each lead's
    traits and event aggregates under the names :class:`EventPlan` gives them.

    The backtest computes those aggregates for many moments in one pass; the rules' arithmetic
    stays here, shared with :func:`score_leads`. Account roll-ups are not computed.
    """
    table = _contributions(table, playbook, as_of)
    return _stages(table, playbook, EventAggregates(main=table, daily=None, clauses=clauses))


def used_traits(playbook: Playbook) -> tuple[dict[str, TraitType], dict[str, TraitType]]:
    """The lead and account traits a scoring reads, with their declared types."""
    return _used_traits(playbook)


def left_join(left: ir.Table, right: ir.Table, key: str) -> ir.Table:
    """``left LEFT JOIN right USING (key)``, keeping one ``key`` column."""
    right_key = f"{key}__right"
    right = right.rename({right_key: key})
    return left.left_join(right, left[key] == right[right_key]).drop(right_key)


def output_columns(playbook: Playbook) -> list[str]:
    """The columns of a scored table, in order."""
    columns = ["lead_key", "lead_id", "account_id", f"{ACCOUNT_PREFIX}name", f"{ACCOUNT_PREFIX}owner"]
    columns += ["fit", "engagement", "score"]
    columns += [score_column(score.name) for score in playbook.decayed_scores[1:]]
    product = playbook.model.scoring.product
    if product is not None:
        columns += [f"product_{name}" for name in product.signals]
    columns += ["account_fit", "account_score", "account_coverage"]
    columns += [f"q_{name}" for name in playbook.stage_conditions()]
    columns += ["qualifies_as"]
    columns += [routing_column(index) for index, rule in enumerate(playbook.model.routing) if rule.when is not None]
    for rule in playbook.rules:
        if rule.section != "account_fit":
            columns.append(rule.column)
    columns += [cap_column(score.name) for score in playbook.decayed_scores]
    return columns


def _used_traits(playbook: Playbook) -> tuple[dict[str, TraitType], dict[str, TraitType]]:
    """The lead and account traits any condition reads (and the account name, for display)."""
    declared_lead, declared_account = trait_declarations(playbook.model.traits.model_dump())
    lead: dict[str, TraitType] = {}
    account: dict[str, TraitType] = {name: declared_account[name] for name in DISPLAY_ACCOUNT_TRAITS}
    for condition in _all_conditions(playbook):
        for ref in ast.refs(condition):
            if ref.path[0] == "lead" and len(ref.path) == 2:
                lead[ref.path[1]] = declared_lead[ref.path[1]]
            elif ref.path[0] == "account" and len(ref.path) == 2 and ref.path[1] in declared_account:
                account[ref.path[1]] = declared_account[ref.path[1]]
    return lead, account


def _all_conditions(playbook: Playbook) -> list[ast.Node]:
    model = playbook.model
    nodes = [rule.rule.when.node for rule in playbook.rules if rule.section in ("fit", "account_fit")]  # type: ignore[union-attr]
    nodes += [condition.node for condition in playbook.stage_conditions().values()]
    nodes += [rule.when.node for rule in model.routing if rule.when is not None]
    nodes += [condition.node for condition in model.accounts.buying_roles.values()]
    nodes.append(model.accounts.engaged_when.node)
    return nodes


def uses_prediction(playbook: Playbook) -> bool:
    """Whether a stage or routing condition reads the predicted probability ``p_convert``."""
    return any(ref.path == ("p_convert",) for condition in _all_conditions(playbook) for ref in ast.refs(condition))


def _with_prediction(table: ir.Table, facts: Facts) -> ir.Table:
    """The lead's latest predicted probability as ``p_convert`` (missing without a prediction).

    It is read, never written: a condition may use it, and it overwrites no rule score."""
    if facts.predictions is None:
        return table.mutate(p_convert=ibis.null("float64"))
    predictions = facts.predictions.select("lead_key", "p_convert")
    return left_join(table, predictions, "lead_key")


def _as_entity(only_keys: ir.Table | None) -> ir.Table | None:
    return None if only_keys is None else only_keys.select(entity_key=only_keys.lead_key)


def _their_accounts(membership: ir.Table, only_keys: ir.Table | None) -> ir.Table | None:
    """When rescoring some leads, only their accounts' traits are needed (not every account's)."""
    return None if only_keys is None else membership.select(entity_id=membership.account_id)


def resolver(table: ir.Table) -> ConditionCompiler:
    """Conditions over a scored lead table (names resolved to its columns)."""

    def resolve(ref: ast.Ref) -> ir.Value:
        head, *rest = ref.path
        if head in ("fit", "engagement", "score", "p_convert"):
            return table[head]
        if head == "scores":
            return table[score_column(rest[0])]
        if head == "product":
            return table[f"product_{rest[0]}"]
        if head == "lead":
            return table[f"{LEAD_PREFIX}{rest[0]}"]
        if head == "account" and rest[0] in ("score", "fit", "coverage"):
            return table[f"account_{rest[0]}"]
        return table[f"{ACCOUNT_PREFIX}{rest[0]}"]

    return ConditionCompiler(resolve=resolve, lists={})


def _compiler(
    table: ir.Table, playbook: Playbook, clauses: dict[ast.EventClause, str] | None = None
) -> ConditionCompiler:
    base = resolver(table)

    def count(clause: ast.EventClause) -> ir.IntegerValue:
        assert clauses is not None
        key = ast.EventClause(clause.event, clause.where, clause.at_least, clause.within_seconds, 0)
        return table[clauses[key]].fill_null(0)  # type: ignore[return-value]

    return ConditionCompiler(resolve=base.resolve, lists=playbook.lists, event_count=count if clauses else None)


def _contributions(table: ir.Table, playbook: Playbook, as_of: Moment) -> ir.Table:
    compiler = _compiler(table, playbook)
    columns: dict[str, ir.Value] = {}
    for rule in playbook.rules_of("fit"):
        when = rule.rule.when.node  # type: ignore[union-attr]
        columns[rule.column] = ibis.ifelse(compiler.compile(when), points_value(rule.rule.points), 0.0)
    as_of_epoch = as_of.epoch
    for score in playbook.decayed_scores:
        for rule in score.rules:
            columns[rule.column] = _engagement_points(table, rule, score, as_of_epoch)
    product = playbook.model.scoring.product
    if product is not None:
        for name in product.signals:
            columns[f"product_{name}"] = table[f"product_{name}"].fill_null(0)
    table = table.mutate(**columns)
    totals: dict[str, ir.Value] = {"fit": _sum(table, [rule.column for rule in playbook.rules_of("fit")])}
    for score in playbook.decayed_scores:
        raw = _sum(table, [rule.column for rule in score.rules])
        adjustment = ibis.literal(0.0)
        if score.cap_total is not None:
            adjustment = ibis.ifelse(raw > score.cap_total, score.cap_total - raw, 0.0)
        totals[cap_column(score.name)] = adjustment
        totals[score_column(score.name)] = raw + adjustment
    table = table.mutate(**totals)
    return table.mutate(score=table.fit + table.engagement)


def _engagement_points(
    table: ir.Table, scored: ScoredRule, score: DecayedScore, as_of_epoch: int | ir.IntegerValue
) -> ir.Value:
    rule = scored.rule
    assert isinstance(rule, EngagementRule)
    points = float(rule.points)
    if rule.is_threshold:
        count = table[f"n_{scored.id}"].fill_null(0)
        return ibis.ifelse(count >= (rule.at_least or 1), points_value(points), 0.0)
    half_life = rule_half_life(rule, score.half_life_days)
    if rule.once:
        first = table[f"f_{scored.id}"]
        raw: ir.NumericValue = ibis.ifelse(first.isnull(), 0.0, points * decay_factor(as_of_epoch - first, half_life))
    elif rule.max_per_day is not None:
        raw = points * table[f"d_{scored.id}"].fill_null(0.0)
    else:
        raw = points * table[f"s_{scored.id}"].fill_null(0.0)
    if rule.cap is not None:
        raw = ibis.least(raw, rule.cap) if points >= 0 else ibis.greatest(raw, -rule.cap)
    return raw


def points_value(points: float) -> ir.FloatingValue:
    """A rule's points, typed DOUBLE in SQL too.

    SQL reads a literal such as ``0.1234567`` as a DECIMAL; Spark rounds a sum of many such
    decimals to six places where DuckDB keeps it exact. Cast from text, it is a double everywhere.
    """
    return ibis.literal(repr(float(points))).cast("float64")  # type: ignore[return-value]


def _sum(table: ir.Table, columns: list[str]) -> ir.NumericValue:
    total: ir.NumericValue = ibis.literal(0.0)  # type: ignore[assignment]
    for column in columns:
        total = total + table[column]
    return total


def _accounts(table: ir.Table, playbook: Playbook) -> ir.Table:
    accounts = playbook.model.accounts
    compiler = _compiler(table, playbook)
    account_fit = ibis.literal(0.0)
    for rule in playbook.rules_of("account_fit"):
        when = rule.rule.when.node  # type: ignore[union-attr]
        account_fit = account_fit + ibis.ifelse(compiler.compile(when), points_value(rule.rule.points), 0.0)
    engaged = compiler.compile(accounts.engaged_when.node)
    roles = {
        f"role_{name}": compiler.compile(condition.node) & engaged for name, condition in accounts.buying_roles.items()
    }
    rollup_of = accounts.score.contacts.of if accounts.score else "engagement"
    table = table.mutate(account_fit_raw=account_fit, rollup_value=table[rollup_of], **roles)
    members = table.filter(table.account_id.notnull())
    rank = ibis.row_number().over(
        group_by=members.account_id, order_by=[ibis.desc(members.rollup_value), members.lead_key]
    )
    ranked = members.mutate(contact_rank=rank)
    top = accounts.score.contacts.sum_top if accounts.score else 0
    per_account = ranked.group_by("account_id").aggregate(
        account_rollup=ranked.rollup_value.sum(where=ranked.contact_rank < top) if top else ibis.literal(0.0),
        account_roles=_count_roles(ranked, list(roles)),
        account_fit=ranked.account_fit_raw.max(),
    )
    table = left_join(table, per_account, "account_id")
    include_fit = accounts.score.include_fit if accounts.score else True
    account_score = table.account_rollup.fill_null(0.0) + (table.account_fit if include_fit else 0.0)
    return table.mutate(
        account_score=ibis.ifelse(table.account_id.isnull(), ibis.null("float64"), account_score),
        account_coverage=table.account_roles,
    )


def _count_roles(table: ir.Table, roles: list[str]) -> ir.IntegerValue:
    total: ir.IntegerValue = ibis.literal(0)  # type: ignore[assignment]
    for role in roles:
        total = total + ibis.ifelse(table[role].any(), 1, 0)
    return total


def _stages(table: ir.Table, playbook: Playbook, aggregates: EventAggregates) -> ir.Table:
    compiler = _compiler(table, playbook, aggregates.clauses)
    flags = {f"q_{name}": compiler.compile(condition.node) for name, condition in playbook.stage_conditions().items()}
    table = table.mutate(**flags)
    to_pql = [table["q_pql"]] if "q_pql" in flags else []
    to_mql = [table["q_mql"]]
    for name, shortcut in playbook.model.stages.shortcuts.items():
        (to_pql if shortcut.goes_to == "pql" else to_mql).append(table[f"q_{name}"])
    stage = ibis.cases(
        (_any(to_pql), "pql"),
        (_any(to_mql), "mql"),
        else_="inquiry",
    )
    routes = {
        routing_column(index): compiler.compile(rule.when.node)
        for index, rule in enumerate(playbook.model.routing)
        if rule.when is not None
    }
    return table.mutate(qualifies_as=stage, **routes)


def _any(flags: list[ir.BooleanValue]) -> ir.BooleanValue:
    result: ir.BooleanValue = ibis.literal(False)  # type: ignore[assignment]
    for flag in flags:
        result = result | flag
    return result
