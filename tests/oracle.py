"""The oracle: a slow, plain-Python scorer that the Ibis engine is held to (STYLE.md item 16).

It reads the facts a test world saves (:class:`History`) and a validated playbook, and computes
every column of :func:`leadgate.scoring.engine.score_leads` the long way: one lead, one rule,
one event at a time, with ``datetime`` and ``zoneinfo`` instead of SQL. It shares nothing with
the engine but its input (the parsed playbook and its condition trees), so when the two agree
they agree for independent reasons.

Float rounding can decide a comparison that semantics cannot: a decayed score lands within a
few ulps of a threshold, and the engine and the oracle, adding in different orders, fall on
either side. The oracle tracks which numbers are *approximate* (they went through a decay
factor) and answers :data:`UNDECIDED` for a test that such a number passes only by a hair
(within 1e-9); tests skip those cells instead of flaking.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from leadgate.playbook.compiled import Playbook
from leadgate.playbook.conditions import ast
from leadgate.playbook.model_scoring import EngagementRule, ProductSignal
from leadgate.playbook.scopes import trait_declarations

SECONDS_PER_DAY = 86_400
HAIR = 1e-9  # how close to a threshold an approximate number must be for the test to be undecided
_SPACE = "[ \t\n\r\x0b\x0c]*"  # spaces, tabs and line breaks (not every Unicode space)
_NUMBER = re.compile(rf"^{_SPACE}[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?{_SPACE}$")
_TRUE, _FALSE = ("true", "yes", "1", "y"), ("false", "no", "0", "n")
_COMPARISONS: dict[str, Callable[[object, object], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class _Undecided:
    def __repr__(self) -> str:
        return "UNDECIDED"


UNDECIDED = _Undecided()
Value = str | float | int | bool | None
Verdict = bool | None  # None: undecided (see the module docstring)


# -- the facts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TraitFact:
    """``entity_id``'s trait ``name`` was ``value`` (stored text; None: no value), learnt then."""

    entity_id: str
    name: str
    value: str | None
    learnt_at: dt.datetime


@dataclass(frozen=True)
class AccountLink:
    """The lead belongs to the account, from ``learnt_at`` on (until a later link)."""

    lead_id: str
    account_id: str
    learnt_at: dt.datetime


@dataclass(frozen=True)
class Event:
    """Something a lead did; properties as sent (text, whole numbers, yes/no, or None)."""

    lead_id: str
    name: str
    at: dt.datetime
    properties: Mapping[str, str | int | bool | None] = field(default_factory=dict)


@dataclass(frozen=True)
class History:
    """Every fact, each list in the order written: of two facts learnt at one moment, the later line wins."""

    lead_traits: tuple[TraitFact, ...] = ()
    account_traits: tuple[TraitFact, ...] = ()
    links: tuple[AccountLink, ...] = ()
    events: tuple[Event, ...] = ()

    def lead_ids(self) -> set[str]:
        """A lead is anyone a fact names, whenever it was learnt."""
        named = {fact.entity_id for fact in self.lead_traits} | {link.lead_id for link in self.links}
        return named | {event.lead_id for event in self.events}


# -- small pieces ------------------------------------------------------------------------------


def epoch_of(moment: dt.datetime) -> int:
    """Whole seconds since 1970 of a naive-UTC moment (a fraction of a second is dropped)."""
    since = moment - dt.datetime(1970, 1, 1)
    return since.days * SECONDS_PER_DAY + since.seconds


def local_date(epoch: int, timezone: str) -> dt.date:
    """The calendar date on a wall clock of ``timezone`` at that instant."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).astimezone(ZoneInfo(timezone)).date()


def fade(age_seconds: int, half_life_days: float | None) -> float:
    """What is left of one point after ``age_seconds``: halved every half-life."""
    if half_life_days is None:
        return 1.0
    return 0.5 ** (age_seconds / (half_life_days * SECONDS_PER_DAY))


def read_number(text: str) -> float | None:
    """Text read as a decimal number (``12``, ``-3.5``, `` 7 ``, ``1e3``), or None."""
    return float(text) if _NUMBER.match(text) else None


def typed_trait(text: str | None, kind: str) -> Value:
    """A stored trait text as its declared type; what cannot be read is missing."""
    if text is None:
        return None
    if kind == "number":
        return read_number(text)
    if kind == "boolean":
        word = text.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else None
    return text


def fold_case(text: str) -> str:
    """Text as case-blind comparisons see it (docs/conditions.md): lower case, with ``İ`` read
    as ``i`` and a final ``ς`` as ``σ``, where engines' lower-casing rules differ."""
    return text.replace("İ", "i").lower().replace("ς", "σ")


def number_as_text(number: float) -> str:
    """How a number written in a mixed list reads as text: ``5`` not ``5.0``."""
    return str(int(number)) if number == int(number) else repr(number)


def near(value: float, bound: float) -> bool:
    return abs(value - bound) <= HAIR * max(1.0, abs(bound))


def any_of(verdicts: Iterable[Verdict]) -> Verdict:
    """Three-valued ``or``: true if one is true, undecided if one is undecided, else false."""
    found = list(verdicts)
    return True if True in found else None if None in found else False


def all_of(verdicts: Iterable[Verdict]) -> Verdict:
    found = list(verdicts)
    return False if False in found else None if None in found else True


# -- conditions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """A name's value for one subject, and whether rounding may have moved it (decay)."""

    value: Value | _Undecided
    approximate: bool = False


Reader = Callable[[ast.Ref], Reading]
Counter = Callable[[ast.EventClause], int]


@dataclass(frozen=True)
class Judge:
    """Decides a condition for one subject (a lead, an account or an event)."""

    read: Reader
    lists: Mapping[str, tuple[str | float, ...]]
    count_events: Counter | None = None

    def verdict(self, node: ast.Node) -> Verdict:
        if isinstance(node, ast.And):
            return all_of(self.verdict(item) for item in node.items)
        if isinstance(node, ast.Or):
            return any_of(self.verdict(item) for item in node.items)
        if isinstance(node, ast.Not):
            inner = self.verdict(node.item)
            return None if inner is None else not inner
        if isinstance(node, ast.EventClause):
            assert self.count_events is not None, "event clauses only appear in lead-state conditions"
            return self.count_events(node) >= node.at_least
        operand = node.left if isinstance(node, ast.Compare) else node.operand
        reading = self.read(operand)
        if reading.value is UNDECIDED:
            return None
        if isinstance(node, ast.IsNull):
            return (reading.value is None) != node.negated
        if reading.value is None:
            return False  # any other test of a missing value is false
        return self._test(node, reading)

    def _test(self, node: ast.Node, reading: Reading) -> Verdict:
        value = reading.value
        if isinstance(node, ast.Compare):
            return self._compare(node.op, reading, node.right.value)
        if isinstance(node, ast.Between):
            low, high = float(node.low.value), float(node.high.value)
            return self._numeric(reading, lambda number: low <= number <= high, [low, high])
        if isinstance(node, ast.InList):
            return self._in_list(reading, node.items, node.negated)
        if isinstance(node, ast.TextMatch):
            text, pattern = fold_case(text_of(value)), fold_case(str(node.pattern.value))
            if node.op == "startswith":
                return text.startswith(pattern)
            if node.op == "endswith":
                return text.endswith(pattern)
            return pattern in text
        if isinstance(node, ast.Truthy):
            assert isinstance(value, bool)
            return value
        raise TypeError(f"not a condition: {node!r}")

    def _compare(self, op: str, reading: Reading, literal: ast.Scalar) -> Verdict:
        compare = _COMPARISONS[op]
        value = reading.value
        if isinstance(literal, bool):
            if isinstance(value, bool):
                return compare(value, literal)
            return compare(fold_case(text_of(value)), str(literal).lower())
        if isinstance(literal, float):
            return self._numeric(reading, lambda number: compare(number, literal), [literal])
        return compare(fold_case(text_of(value)), fold_case(literal))

    def _numeric(self, reading: Reading, test: Callable[[float], bool], bounds: list[float]) -> Verdict:
        number = as_number(reading.value)
        if number is None:
            return False
        if reading.approximate and any(near(number, bound) for bound in bounds):
            return None
        return test(number)

    def _in_list(self, reading: Reading, items: ast.ListItems | ast.NamedList, negated: bool) -> Verdict:
        """Membership, or its absence; a text that is no number fails both against a list of numbers."""
        if isinstance(items, ast.NamedList):
            values = self.lists[items.name]
        else:
            values = tuple(item.value for item in items.items if not isinstance(item.value, bool))
        if values and all(isinstance(item, float) for item in values):
            numbers = [float(item) for item in values]
            return self._numeric(reading, lambda number: (number in numbers) != negated, numbers)
        texts = {number_as_text(item) if isinstance(item, float) else fold_case(item) for item in values}
        return (fold_case(text_of(reading.value)) in texts) != negated


def text_of(value: object) -> str:
    """Text tests apply to text; the playbook checker refuses them on anything else."""
    assert isinstance(value, str), f"a text test reached {value!r}"
    return value


def as_number(value: object) -> float | None:
    if isinstance(value, bool):
        raise AssertionError("a number test reached a yes/no value")
    if isinstance(value, (int, float)):
        return float(value)
    return read_number(text_of(value))


def property_text(event: Event, name: str) -> str | None:
    """An event property is text, as JSON writes it: ``5``, ``true``; null or absent is missing."""
    raw = event.properties.get(name)
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


def event_reader(event: Event) -> Reader:
    return lambda ref: Reading(property_text(event, ref.path[1]))


# -- one lead ----------------------------------------------------------------------------------


@dataclass
class LeadState:
    """Everything computed for one lead, keyed by the names conditions use (``("fit",)`` ...)."""

    lead_id: str
    account_id: str | None
    events: list[Event]
    readings: dict[tuple[str, ...], Reading]
    columns: dict[str, object]

    def reader(self, *sections: str) -> Reader:
        """Names under the given heads; an unknown trait of a known section reads as missing."""

        def read(ref: ast.Ref) -> Reading:
            assert ref.path[0] in sections, f"{ref.dotted} is not readable here"
            if ref.path in self.readings:
                return self.readings[ref.path]
            assert ref.path[0] in ("lead", "account"), f"{ref.dotted} was not computed"
            return Reading(None)

        return read


class Oracle:
    """Scores every lead of a history, as of one moment, under one playbook."""

    def __init__(self, history: History, playbook: Playbook, as_of: dt.datetime) -> None:
        self.history = history
        self.playbook = playbook
        self.model = playbook.model
        self.as_of = as_of
        self.now = epoch_of(as_of)
        self.lists = playbook.lists
        self.lead_types, self.account_types = trait_declarations(self.model.traits.model_dump())

    def score(self) -> dict[str, dict[str, object]]:
        """One row per lead id: the columns of ``score_leads`` (without ``lead_key``)."""
        leads = [self._lead(lead_id) for lead_id in sorted(self.history.lead_ids())]
        for lead in leads:
            self._fit(lead)
            self._decayed_scores(lead)
            self._product(lead)
        self._accounts(leads)
        for lead in leads:
            self._stages(lead)
        return {lead.lead_id: lead.columns for lead in leads}

    # -- what was known ------------------------------------------------------------------------
    def _lead(self, lead_id: str) -> LeadState:
        account_id = self._account_of(lead_id)
        readings = {
            ("lead", name): Reading(value)
            for name, value in self._snapshot(self.history.lead_traits, lead_id, self.lead_types).items()
        }
        account_traits = {}
        if account_id is not None:
            account_traits = self._snapshot(self.history.account_traits, account_id, self.account_types)
            readings |= {("account", name): Reading(value) for name, value in account_traits.items()}
        events = [event for event in self.history.events if event.lead_id == lead_id and event.at <= self.as_of]
        columns: dict[str, object] = {
            "lead_id": lead_id,
            "account_id": account_id,
            "account__name": account_traits.get("name"),
            "account__owner": account_traits.get("owner"),
        }
        return LeadState(lead_id, account_id, events, readings, columns)

    def _account_of(self, lead_id: str) -> str | None:
        latest: AccountLink | None = None
        for link in self.history.links:
            if link.lead_id != lead_id or link.learnt_at > self.as_of:
                continue
            if latest is None or link.learnt_at >= latest.learnt_at:  # a later line wins a tie
                latest = link
        return None if latest is None else latest.account_id

    def _snapshot(self, facts: Iterable[TraitFact], entity_id: str, types: Mapping[str, str]) -> dict[str, Value]:
        latest: dict[str, TraitFact] = {}
        for fact in facts:
            if fact.entity_id != entity_id or fact.learnt_at > self.as_of or fact.name not in types:
                continue
            if fact.name not in latest or fact.learnt_at >= latest[fact.name].learnt_at:
                latest[fact.name] = fact
        return {name: typed_trait(fact.value, types[name]) for name, fact in latest.items()}

    # -- scores --------------------------------------------------------------------------------
    def _fit(self, lead: LeadState) -> None:
        judge = Judge(lead.reader("lead", "account"), self.lists)
        total = 0.0
        for rule in self.playbook.rules_of("fit"):
            verdict = judge.verdict(rule.rule.when.node)
            assert verdict is not None, "traits are exact"
            points = float(rule.rule.points) if verdict else 0.0
            lead.columns[rule.column] = points
            total += points
        lead.columns["fit"] = total
        lead.readings[("fit",)] = Reading(total)

    def _decayed_scores(self, lead: LeadState) -> None:
        scoring = self.model.scoring
        scores = [("engagement", "engagement", scoring.engagement.half_life_days, scoring.cap_total)]
        for name, named in scoring.scores.items():
            scores.append((name, f"score_{name}", named.half_life_days, named.cap_total))
        for name, column, half_life, cap_total in scores:
            section = "engagement" if name == "engagement" else "named"
            raw, approximate = 0.0, False
            for rule in self.playbook.rules_of(section, name):
                assert isinstance(rule.rule, EngagementRule)
                points, rounded = self._rule_points(rule.rule, half_life, lead.events)
                lead.columns[rule.column] = points
                raw += points
                approximate = approximate or rounded
            adjustment = cap_total - raw if cap_total is not None and raw > cap_total else 0.0
            lead.columns[f"c_{name}_cap"] = adjustment
            lead.columns[column] = raw + adjustment
            path = ("engagement",) if name == "engagement" else ("scores", name)
            lead.readings[path] = Reading(raw + adjustment, approximate)
        engagement = lead.readings[("engagement",)]
        lead.columns["score"] = lead.columns["fit"] + engagement.value
        lead.readings[("score",)] = Reading(lead.columns["score"], engagement.approximate)

    def _rule_points(
        self, rule: EngagementRule, score_half_life: float | None, events: list[Event]
    ) -> tuple[float, bool]:
        """A rule's points after decay and cap, and whether decay made them approximate."""
        matched = [event for event in events if self._rule_matches(rule, event)]
        if rule.at_least is not None:
            return (float(rule.points) if len(matched) >= rule.at_least else 0.0), False
        half_life = None if not rule.decay else rule.half_life_days or score_half_life
        ages = [self.now - epoch_of(event.at) for event in matched]
        if rule.once:
            counted = [(1, max(ages))] if ages else []  # the earliest event is the oldest
        elif rule.max_per_day is not None:
            counted = [(min(len(day), rule.max_per_day), min(day)) for day in self._ages_by_day(matched)]
        else:
            counted = [(1, age) for age in ages]
        total = sum(rule.points * times * fade(age, half_life) for times, age in counted)
        if rule.cap is not None:
            total = min(total, rule.cap) if rule.points >= 0 else max(total, -rule.cap)
        approximate = half_life is not None and any(age > 0 for _, age in counted)
        return float(total), approximate

    def _rule_matches(self, rule: EngagementRule, event: Event) -> bool:
        if event.name != rule.event or not self._passes(rule.where.node if rule.where else None, event):
            return False
        return rule.within_days is None or self._in_window(event, rule.within_days * SECONDS_PER_DAY)

    def _ages_by_day(self, events: list[Event]) -> list[list[int]]:
        """Ages of the events, grouped by local calendar day (the youngest age is the day's last event)."""
        days: dict[dt.date, list[int]] = {}
        for event in events:
            epoch = epoch_of(event.at)
            days.setdefault(local_date(epoch, self.model.timezone), []).append(self.now - epoch)
        return list(days.values())

    def _passes(self, where: ast.Node | None, event: Event) -> bool:
        if where is None:
            return True
        verdict = Judge(event_reader(event), self.lists).verdict(where)
        assert verdict is not None, "event properties are exact"
        return verdict

    def _in_window(self, event: Event, seconds: int) -> bool:
        """The trailing window (as_of - seconds, as_of]."""
        return self.now - seconds < epoch_of(event.at) <= self.now

    def _product(self, lead: LeadState) -> None:
        product = self.model.scoring.product
        if product is None:
            return
        window = product.window_days * SECONDS_PER_DAY
        for name, signal in product.signals.items():
            matched = [event for event in lead.events if self._signal_matches(signal, event, window)]
            value = self._signal_value(signal, matched)
            lead.columns[f"product_{name}"] = value
            lead.readings[("product", name)] = Reading(value)

    def _signal_matches(self, signal: ProductSignal, event: Event, window: int) -> bool:
        in_signal = event.name in signal.events and self._in_window(event, window)
        return in_signal and self._passes(signal.where.node if signal.where else None, event)

    def _signal_value(self, signal: ProductSignal, events: list[Event]) -> int:
        if signal.count == "events":
            return len(events)
        if signal.count == "distinct_days":
            return len({local_date(epoch_of(event.at), self.model.timezone) for event in events})
        values = {property_text(event, signal.property or "") for event in events}
        return len(values - {None})

    # -- accounts ------------------------------------------------------------------------------
    def _accounts(self, leads: list[LeadState]) -> None:
        members: dict[str, list[LeadState]] = {}
        for lead in leads:
            if lead.account_id is not None:
                members.setdefault(lead.account_id, []).append(lead)
        for lead in leads:
            values: tuple[Reading, Reading, Reading] = (Reading(None), Reading(None), Reading(None))
            if lead.account_id is not None:
                values = self._account_values(lead, members[lead.account_id])
            fit, score, coverage = values
            lead.columns |= {"account_fit": fit.value, "account_score": score.value, "account_coverage": coverage.value}
            lead.readings |= {("account", "fit"): fit, ("account", "score"): score, ("account", "coverage"): coverage}

    def _account_values(self, lead: LeadState, members: list[LeadState]) -> tuple[Reading, Reading, Reading]:
        accounts = self.model.accounts
        judge = Judge(lead.reader("account"), self.lists)
        fit = 0.0
        for rule in self.playbook.rules_of("account_fit"):
            fit += float(rule.rule.points) if judge.verdict(rule.rule.when.node) else 0.0
        rollup, approximate = 0.0, False
        if accounts.score is not None:
            contacts = [member.readings[(accounts.score.contacts.of,)] for member in members]
            best = sorted((float(reading.value) for reading in contacts), reverse=True)
            rollup = sum(best[: accounts.score.contacts.sum_top])
            approximate = any(reading.approximate for reading in contacts)
        include_fit = accounts.score.include_fit if accounts.score is not None else True
        score = Reading(rollup + (fit if include_fit else 0.0), approximate)
        return Reading(fit), score, Reading(self._coverage(members))

    def _coverage(self, members: list[LeadState]) -> int | _Undecided:
        """How many buying roles some engaged contact of the account fills."""
        accounts = self.model.accounts
        filled: list[Verdict] = []
        for condition in accounts.buying_roles.values():
            verdicts = []
            for member in members:
                judge = Judge(member.reader("fit", "engagement", "score", "scores", "product", "lead"), self.lists)
                verdicts.append(all_of([judge.verdict(condition.node), judge.verdict(accounts.engaged_when.node)]))
            filled.append(any_of(verdicts))
        return UNDECIDED if None in filled else filled.count(True)

    # -- stages --------------------------------------------------------------------------------
    def _stages(self, lead: LeadState) -> None:
        judge = Judge(
            lead.reader("fit", "engagement", "score", "scores", "product", "lead", "account"),
            self.lists,
            count_events=lambda clause: self._count_clause(lead, clause),
        )
        flags: dict[str, Verdict] = {}
        for name, condition in self.playbook.stage_conditions().items():
            flags[name] = judge.verdict(condition.node)
            lead.columns[f"q_{name}"] = UNDECIDED if flags[name] is None else flags[name]
        to_pql = [flags["pql"]] if "pql" in flags else []
        to_mql = [flags["mql"]]
        for name, shortcut in self.model.stages.shortcuts.items():
            (to_pql if shortcut.goes_to == "pql" else to_mql).append(flags[name])
        lead.columns["qualifies_as"] = _stage(any_of(to_pql), any_of(to_mql))

    def _count_clause(self, lead: LeadState, clause: ast.EventClause) -> int:
        return sum(
            1
            for event in lead.events
            if event.name == clause.event
            and self._in_window(event, clause.within_seconds)
            and self._passes(clause.where, event)
        )


def _stage(pql: Verdict, mql: Verdict) -> str | _Undecided:
    if pql is True:
        return "pql"
    if pql is None:
        return UNDECIDED
    if mql is None:
        return UNDECIDED
    return "mql" if mql else "inquiry"


def score_slowly(history: History, playbook: Playbook, as_of: dt.datetime) -> dict[str, dict[str, object]]:
    """The oracle's rows, by lead id (cells it cannot decide hold :data:`UNDECIDED`)."""
    return Oracle(history, playbook, as_of).score()
