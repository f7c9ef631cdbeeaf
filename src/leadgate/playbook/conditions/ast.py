"""The syntax tree of a playbook condition.

A condition such as ``fit >= 30 and lead.role in @decision_makers`` parses into these
immutable nodes. Two independent evaluators read them: the Ibis compiler that scores leads on
a database, and the pure-Python oracle the tests hold the compiler to. Every node keeps the
offset of its first character in the condition text so that errors can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass

Scalar = str | float | bool


@dataclass(frozen=True)
class Ref:
    """A name: ``fit``, ``lead.role``, ``product.active_days``, ``properties.path``."""

    path: tuple[str, ...]
    offset: int

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Literal:
    """A number, a quoted or bare word, or true/false."""

    value: Scalar
    offset: int


@dataclass(frozen=True)
class ListItems:
    """``[a, b, 'c d']`` written in place."""

    items: tuple[Literal, ...]
    offset: int


@dataclass(frozen=True)
class NamedList:
    """``@freemail``: a list defined under ``lists:``."""

    name: str
    offset: int


@dataclass(frozen=True)
class Compare:
    """``left OP right`` with OP one of == != < <= > >=."""

    op: str
    left: Ref
    right: Literal
    offset: int


@dataclass(frozen=True)
class Between:
    """``value between low and high`` (both ends included)."""

    operand: Ref
    low: Literal
    high: Literal
    offset: int


@dataclass(frozen=True)
class InList:
    """``value in [..]`` or ``value not in @list``."""

    operand: Ref
    items: ListItems | NamedList
    negated: bool
    offset: int


@dataclass(frozen=True)
class TextMatch:
    """``value startswith 'x'``, ``endswith``, ``contains``."""

    op: str
    operand: Ref
    pattern: Literal
    offset: int


@dataclass(frozen=True)
class IsNull:
    """``value is null`` / ``value is not null``."""

    operand: Ref
    negated: bool
    offset: int


@dataclass(frozen=True)
class Truthy:
    """A yes/no trait used on its own: ``account.uses_competitor``."""

    operand: Ref
    offset: int


@dataclass(frozen=True)
class EventClause:
    """``event NAME [where COND] [at least N times] within N days|hours``.

    True when the lead did the event (matching the filter) at least ``at_least`` times in the
    trailing window that ends at the moment of evaluation.
    """

    event: str
    where: Node | None
    at_least: int
    within_seconds: int
    offset: int


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]
    offset: int


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]
    offset: int


@dataclass(frozen=True)
class Not:
    item: Node
    offset: int


Node = Compare | Between | InList | TextMatch | IsNull | Truthy | EventClause | And | Or | Not


def walk(node: Node) -> list[Node]:
    """Every node of the tree, parents before children (``where`` filters included)."""
    found: list[Node] = [node]
    if isinstance(node, (And, Or)):
        for item in node.items:
            found.extend(walk(item))
    elif isinstance(node, Not):
        found.extend(walk(node.item))
    elif isinstance(node, EventClause) and node.where is not None:
        found.extend(walk(node.where))
    return found


def refs(node: Node) -> list[Ref]:
    """The names a condition reads, outside event filters."""
    found: list[Ref] = []
    for item in walk_outer(node):
        operand = getattr(item, "operand", None) or getattr(item, "left", None)
        if isinstance(operand, Ref):
            found.append(operand)
    return found


def walk_outer(node: Node) -> list[Node]:
    """Like :func:`walk`, without descending into event clauses' ``where`` filters."""
    found: list[Node] = [node]
    if isinstance(node, (And, Or)):
        for item in node.items:
            found.extend(walk_outer(item))
    elif isinstance(node, Not):
        found.extend(walk_outer(node.item))
    return found


def event_clauses(node: Node) -> list[EventClause]:
    """The windowed event clauses of a condition, in reading order."""
    return [item for item in walk_outer(node) if isinstance(item, EventClause)]
