"""A small recursive-descent parser for playbook conditions. Never ``eval``.

Grammar (docs/conditions.md is the reader's version)::

    condition  := or
    or         := and ("or" and)*
    and        := unary ("and" unary)*
    unary      := "not" unary | "(" condition ")" | event | test
    event      := "event" WORD ["where" condition] ["at" "least" INT "times"]
                  "within" INT ("day"|"days"|"hour"|"hours")
    test       := NAME ( OP literal | "between" literal "and" literal
                       | ["not"] "in" (list | "@"WORD) | "is" ["not"] "null"
                       | ("startswith"|"endswith"|"contains") literal )?
    list       := "[" item ("," item)* "]"     items: numbers, quoted text or bare words
    literal    := NUMBER | 'text' | "text" | true | false
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leadgate.playbook.conditions import ast

KEYWORDS = frozenset(
    {
        "and",
        "or",
        "not",
        "in",
        "between",
        "is",
        "null",
        "startswith",
        "endswith",
        "contains",
        "event",
        "where",
        "at",
        "least",
        "times",
        "time",
        "within",
        "day",
        "days",
        "hour",
        "hours",
        "true",
        "false",
    }
)
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
TEXT_MATCHES = ("startswith", "endswith", "contains")

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_]))
  | (?P<text>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<listref>@[A-Za-z_][A-Za-z0-9_]*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_.\-]*)
  | (?P<op>==|!=|<=|>=|<|>|=)
  | (?P<punct>[()\[\],])
    """,
    re.VERBOSE,
)


class ConditionSyntaxError(ValueError):
    """A condition that cannot be read. ``offset`` is where, in the condition text."""

    def __init__(self, code: str, message: str, offset: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    offset: int


def tokenize(source: str) -> list[Token]:
    """Split a condition into tokens, or say where an unknown character is."""
    tokens: list[Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise ConditionSyntaxError("PB101", f"the character {source[position]!r} has no meaning here", position)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


def parse_condition(source: str) -> ast.Node:
    """Parse a condition text into its syntax tree."""
    if not source.strip():
        raise ConditionSyntaxError("PB101", "the condition is empty", 0)
    parser = _Parser(tokenize(source))
    node = parser.parse_or()
    parser.expect_end()
    return node


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    # -- token helpers -------------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def is_word(self, *words: str) -> bool:
        return self.current.kind == "word" and self.current.text.lower() in words

    def take(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def take_word(self, word: str, what: str) -> Token:
        if not self.is_word(word):
            self.fail(f"expected {what}")
        return self.take()

    def fail(self, expectation: str) -> None:
        token = self.current
        found = "the end of the condition" if token.kind == "end" else repr(token.text)
        raise ConditionSyntaxError("PB101", f"{expectation}, found {found}", token.offset)

    def expect_end(self) -> None:
        if self.current.kind != "end":
            self.fail("expected 'and', 'or' or the end of the condition")

    # -- grammar -------------------------------------------------------------------------
    def parse_or(self) -> ast.Node:
        first = self.parse_and()
        items = [first]
        while self.is_word("or"):
            self.take()
            items.append(self.parse_and())
        return first if len(items) == 1 else ast.Or(tuple(items), _offset(first))

    def parse_and(self) -> ast.Node:
        first = self.parse_unary()
        items = [first]
        while self.is_word("and"):
            self.take()
            items.append(self.parse_unary())
        return first if len(items) == 1 else ast.And(tuple(items), _offset(first))

    def parse_unary(self) -> ast.Node:
        token = self.current
        if self.is_word("not"):
            self.take()
            return ast.Not(self.parse_unary(), token.offset)
        if token.kind == "punct" and token.text == "(":
            self.take()
            inner = self.parse_or()
            if not (self.current.kind == "punct" and self.current.text == ")"):
                self.fail("expected ')' to close the '(' opened before")
            self.take()
            return inner
        if self.is_word("event"):
            return self.parse_event()
        return self.parse_test()

    def parse_event(self) -> ast.EventClause:
        start = self.take()
        if self.current.kind != "word" or self.current.text.lower() in KEYWORDS:
            self.fail("expected an event name after 'event'")
        event = self.take().text
        where: ast.Node | None = None
        if self.is_word("where"):
            self.take()
            where = self.parse_or()
        at_least = 1
        if self.is_word("at"):
            self.take()
            self.take_word("least", "'least' after 'at'")
            at_least = int(self.parse_positive_int("a number of times after 'at least'"))
            self.take_word_any(("times", "time"), "'times' after the number")
        self.take_word("within", "'within N days' to say over which period the event counts")
        amount = self.parse_positive_int("a number after 'within'")
        unit = self.take_word_any(("day", "days", "hour", "hours"), "'days' or 'hours'")
        seconds = amount * (86400 if unit.text.lower().startswith("day") else 3600)
        return ast.EventClause(event, where, at_least, seconds, start.offset)

    def take_word_any(self, words: tuple[str, ...], what: str) -> Token:
        if not self.is_word(*words):
            self.fail(f"expected {what}")
        return self.take()

    def parse_positive_int(self, what: str) -> int:
        token = self.current
        if token.kind != "number" or "." in token.text or int(token.text) <= 0:
            self.fail(f"expected {what} (a whole number above zero)")
        self.take()
        return int(token.text)

    def parse_name(self) -> ast.Ref:
        token = self.current
        if token.kind != "word" or token.text.lower() in KEYWORDS:
            self.fail("expected a name such as fit, engagement or lead.role")
        self.take()
        if token.text.endswith(".") or ".." in token.text:
            raise ConditionSyntaxError("PB101", f"{token.text!r} is not a valid name", token.offset)
        return ast.Ref(tuple(token.text.split(".")), token.offset)

    def parse_test(self) -> ast.Node:
        operand = self.parse_name()
        token = self.current
        if token.kind == "op":
            op = "==" if token.text == "=" else token.text
            self.take()
            return ast.Compare(op, operand, self.parse_literal(), operand.offset)
        if self.is_word("between"):
            self.take()
            low = self.parse_literal()
            self.take_word("and", "'and' between the two bounds of 'between'")
            high = self.parse_literal()
            return ast.Between(operand, low, high, operand.offset)
        if self.is_word("not") and self.tokens[self.index + 1].text.lower() == "in":
            self.take()
            self.take()
            return ast.InList(operand, self.parse_list(), True, operand.offset)
        if self.is_word("in"):
            self.take()
            return ast.InList(operand, self.parse_list(), False, operand.offset)
        if self.is_word("is"):
            self.take()
            negated = False
            if self.is_word("not"):
                self.take()
                negated = True
            self.take_word("null", "'null' after 'is' (as in 'account.owner is not null')")
            return ast.IsNull(operand, negated, operand.offset)
        if self.is_word(*TEXT_MATCHES):
            op = self.take().text.lower()
            return ast.TextMatch(op, operand, self.parse_literal(), operand.offset)
        return ast.Truthy(operand, operand.offset)

    def parse_literal(self) -> ast.Literal:
        token = self.current
        if token.kind == "number":
            self.take()
            return ast.Literal(float(token.text), token.offset)
        if token.kind == "text":
            self.take()
            return ast.Literal(_unquote(token.text), token.offset)
        if self.is_word("true", "false"):
            self.take()
            return ast.Literal(token.text.lower() == "true", token.offset)
        if token.kind == "word":
            raise ConditionSyntaxError(
                "PB101",
                f"put text in quotes: write '{token.text}' (a bare word here would be read as a name)",
                token.offset,
            )
        self.fail("expected a value: a number, 'quoted text', true or false")
        raise AssertionError("unreachable")

    def parse_list(self) -> ast.ListItems | ast.NamedList:
        token = self.current
        if token.kind == "listref":
            self.take()
            return ast.NamedList(token.text[1:], token.offset)
        if not (token.kind == "punct" and token.text == "["):
            self.fail("expected a list such as [FR, BE] or a named list such as @freemail")
        self.take()
        items: list[ast.Literal] = []
        while True:
            item = self.current
            if item.kind == "number":
                items.append(ast.Literal(float(item.text), item.offset))
            elif item.kind == "text":
                items.append(ast.Literal(_unquote(item.text), item.offset))
            elif item.kind == "word":
                items.append(ast.Literal(item.text, item.offset))
            else:
                self.fail("expected a list item")
            self.take()
            if self.current.kind == "punct" and self.current.text == ",":
                self.take()
                continue
            if self.current.kind == "punct" and self.current.text == "]":
                self.take()
                return ast.ListItems(tuple(items), token.offset)
            self.fail("expected ',' or ']' in the list")


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def _offset(node: ast.Node) -> int:
    return node.offset
