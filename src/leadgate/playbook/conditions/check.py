"""Type-checking of conditions against the names a playbook context offers.

Each place a condition can be written (a fit rule, an event filter, a stage condition, ...)
has a :class:`Scope`: the names it may read and their types. A condition that reads an unknown
name, a name not available there, or compares a number with text is refused at load time.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field

from leadgate.domain.traits import TraitType
from leadgate.playbook.conditions import ast
from leadgate.playbook.conditions.parser import ConditionSyntaxError

ANY = "any"  # an event property: its type follows the value it is compared with

ListValue = tuple[str | float, ...]


@dataclass(frozen=True)
class Scope:
    """What a condition may read in one place of the playbook."""

    where: str
    names: Mapping[tuple[str, ...], TraitType]
    lists: Mapping[str, ListValue]
    dynamic_prefix: str | None = None
    allow_events: bool = False
    elsewhere: Mapping[str, str] = field(default_factory=dict)

    def type_of(self, ref: ast.Ref) -> str:
        """The type of a name, or raise a problem that says what to write instead."""
        if ref.path in self.names:
            return self.names[ref.path]
        if self.dynamic_prefix and ref.path[0] == self.dynamic_prefix:
            if len(ref.path) != 2:
                raise ConditionSyntaxError(
                    "PB102", f"write one property name after '{self.dynamic_prefix}.'", ref.offset
                )
            return ANY
        if ref.path[0] in self.elsewhere:
            raise ConditionSyntaxError(
                "PB105",
                f"'{ref.dotted}' cannot be used in {self.where}; {self.elsewhere[ref.path[0]]}",
                ref.offset,
            )
        known = [".".join(path) for path in self.names]
        if self.dynamic_prefix:
            known.append(f"{self.dynamic_prefix}.NAME")
        hint = difflib.get_close_matches(ref.dotted, known, n=1, cutoff=0.6)
        suggestion = (
            f"; did you mean '{hint[0]}'?" if hint else f"; {self.where} can use: " + ", ".join(sorted(known)[:12])
        )
        raise ConditionSyntaxError("PB102", f"'{ref.dotted}' is not a known name{suggestion}", ref.offset)


def check_condition(node: ast.Node, scope: Scope) -> list[ConditionSyntaxError]:
    """Every problem of a parsed condition in a scope (empty when it is sound)."""
    problems: list[ConditionSyntaxError] = []
    for item in ast.walk_outer(node):
        try:
            _check_node(item, scope, problems)
        except ConditionSyntaxError as problem:
            problems.append(problem)
    return problems


def _check_node(node: ast.Node, scope: Scope, problems: list[ConditionSyntaxError]) -> None:
    if isinstance(node, ast.EventClause):
        if not scope.allow_events:
            raise ConditionSyntaxError(
                "PB105", f"an 'event ... within' clause cannot be used in {scope.where}", node.offset
            )
        if node.where is not None:
            problems.extend(check_condition(node.where, event_filter_scope(scope.lists)))
        return
    if isinstance(node, ast.Compare):
        kind = scope.type_of(node.left)
        _check_compare(node, kind)
    elif isinstance(node, ast.Between):
        kind = scope.type_of(node.operand)
        for bound in (node.low, node.high):
            if not isinstance(bound.value, float) or isinstance(bound.value, bool):
                raise ConditionSyntaxError("PB103", "'between' needs two numbers", bound.offset)
        if kind not in ("number", ANY):
            raise _mismatch(node.operand, kind, "'between' compares numbers")
    elif isinstance(node, ast.InList):
        kind = scope.type_of(node.operand)
        values = _list_values(node.items, scope)
        if kind == "boolean":
            raise _mismatch(node.operand, kind, "use 'is true' style tests: write the name alone")
        if kind == "number" and not all(isinstance(value, float) for value in values):
            raise _mismatch(node.operand, kind, "the list holds text")
    elif isinstance(node, ast.TextMatch):
        kind = scope.type_of(node.operand)
        if kind not in ("text", ANY):
            raise _mismatch(node.operand, kind, f"'{node.op}' works on text")
        if not isinstance(node.pattern.value, str):
            raise ConditionSyntaxError("PB103", f"'{node.op}' needs quoted text", node.pattern.offset)
    elif isinstance(node, ast.IsNull):
        scope.type_of(node.operand)
    elif isinstance(node, ast.Truthy):
        kind = scope.type_of(node.operand)
        if kind != "boolean":
            raise ConditionSyntaxError(
                "PB103",
                f"'{node.operand.dotted}' is {_article(kind)}, not yes/no; compare it, "
                f"e.g. '{node.operand.dotted} {'>= 10' if kind == 'number' else '== ...'}'",
                node.offset,
            )


def _check_compare(node: ast.Compare, kind: str) -> None:
    value = node.right.value
    if isinstance(value, bool):
        literal_kind = "boolean"
    elif isinstance(value, float):
        literal_kind = "number"
    else:
        literal_kind = "text"
    if kind == ANY:
        if node.op not in ("==", "!=") and literal_kind != "number":
            raise ConditionSyntaxError(
                "PB103", f"'{node.op}' compares numbers; put a number after it", node.right.offset
            )
        return
    if kind != literal_kind:
        raise _mismatch(node.left, kind, f"it is compared with {_article(literal_kind)}")
    if kind != "number" and node.op not in ("==", "!="):
        raise ConditionSyntaxError(
            "PB103", f"'{node.op}' compares numbers, and '{node.left.dotted}' is {_article(kind)}", node.offset
        )


def _list_values(items: ast.ListItems | ast.NamedList, scope: Scope) -> ListValue:
    if isinstance(items, ast.NamedList):
        if items.name not in scope.lists:
            known = ", ".join("@" + name for name in sorted(scope.lists)) or "none is defined"
            raise ConditionSyntaxError(
                "PB104", f"there is no list named '@{items.name}' under 'lists:' ({known})", items.offset
            )
        return scope.lists[items.name]
    return tuple(item.value for item in items.items if not isinstance(item.value, bool))


def _mismatch(ref: ast.Ref, kind: str, why: str) -> ConditionSyntaxError:
    return ConditionSyntaxError("PB103", f"'{ref.dotted}' is {_article(kind)}, and {why}", ref.offset)


def _article(kind: str) -> str:
    return {"number": "a number", "text": "text", "boolean": "yes/no"}.get(kind, kind)


def event_filter_scope(lists: Mapping[str, ListValue]) -> Scope:
    """The scope of ``where:`` filters on events: the event's properties."""
    return Scope(
        where="an event filter",
        names={},
        lists=lists,
        dynamic_prefix="properties",
        elsewhere={
            "lead": "event filters read the event's own properties (properties.NAME)",
            "account": "event filters read the event's own properties (properties.NAME)",
            "fit": "event filters read the event's own properties (properties.NAME)",
            "engagement": "event filters read the event's own properties (properties.NAME)",
        },
    )
