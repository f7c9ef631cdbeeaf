"""Read a playbook's YAML into plain data, remembering where every value was written.

The loader follows YAML 1.2's core schema rather than PyYAML's YAML 1.1 defaults, because
1.1 silently turns a country code ``NO`` into ``False``, ``on:`` into ``True`` and ``09:00``
into the number 540. Here only ``true``/``false`` are booleans, times and dates stay text,
and a key written twice is an error instead of a silent overwrite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    """A place in the playbook file (1-based line and column).

    ``text_start`` is how many characters precede the text of a quoted scalar (its quote),
    so that an offset inside a condition maps to the right column.
    """

    line: int
    column: int
    text_start: int = 0


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of the document was written."""

    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def value_at(self, path: Path) -> Position:
        """The position of the value at ``path``, or of its closest written ancestor."""
        return _closest(self.values, path)

    def key_at(self, path: Path) -> Position:
        """The position of the key that introduces ``path`` (falls back to the value)."""
        if path in self.keys:
            return self.keys[path]
        return _closest(self.values, path)


def _closest(positions: dict[Path, Position], path: Path) -> Position:
    for end in range(len(path), -1, -1):
        if path[:end] in positions:
            return positions[path[:end]]
    return Position(1, 1)


class YamlProblem(Exception):
    """The text is not valid YAML, or repeats a key."""

    def __init__(self, code: str, message: str, position: Position) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.position = position


class _CoreSchemaLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars."""


_CoreSchemaLoader.yaml_implicit_resolvers = {}
_CoreSchemaLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_CoreSchemaLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_CoreSchemaLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$"),
    list("-+0123456789."),
)
_CoreSchemaLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


def load_yaml(text: str) -> tuple[Any, SourceMap]:
    """Parse YAML text into dicts, lists and scalars plus a :class:`SourceMap`."""
    try:
        loader = _CoreSchemaLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character, found before any node is read
        raise _unreadable(text, exc) from exc
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        raise YamlProblem("PB001", f"this is not valid YAML: {exc.problem}", position) from exc
    except yaml.reader.ReaderError as exc:
        raise _unreadable(text, exc) from exc
    finally:
        loader.dispose()
    source = SourceMap()
    if root is None:
        return None, source
    return _convert(loader, root, (), source), source


def _unreadable(text: str, error: yaml.reader.ReaderError) -> YamlProblem:
    """A character YAML does not allow, at its line and column."""
    before = text[: error.position]
    line = before.count("\n") + 1
    column = error.position - (before.rfind("\n") + 1) + 1
    return YamlProblem(
        "PB001", f"this is not valid YAML: the character #x{error.character:04x} is not allowed", Position(line, column)
    )


def _position(node: yaml.Node) -> Position:
    mark = node.start_mark
    quoted = isinstance(node, yaml.ScalarNode) and node.style in ("'", '"')
    return Position(mark.line + 1, mark.column + 1, 1 if quoted else 0)


def _convert(loader: yaml.SafeLoader, node: yaml.Node, path: Path, source: SourceMap) -> Any:
    source.values[path] = _position(node)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise YamlProblem("PB002", "a key must be a plain word", _position(key_node))
            key = str(key)
            if key in result:
                raise YamlProblem("PB003", f"the key {key!r} is written twice in the same block", _position(key_node))
            child = (*path, key)
            source.keys[child] = _position(key_node)
            result[key] = _convert(loader, value_node, child, source)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, (*path, index), source) for index, item in enumerate(node.value)]
    try:
        return loader.construct_object(node)
    except yaml.constructor.ConstructorError as exc:
        raise YamlProblem("PB001", f"this value cannot be read: {exc.problem}", _position(node)) from exc
