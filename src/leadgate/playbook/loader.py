"""Load a playbook file: YAML -> validated model -> :class:`Playbook`, or every error at once.

Each error says ``FILE:LINE:COLUMN``, a stable code (docs/errors.md) and a sentence a
marketer understands. A playbook with any error is never returned, so it is never used.
"""

from __future__ import annotations

import difflib
from pathlib import Path as FilePath
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from leadgate.errors import InputError, Issue, NotFound, PlaybookInvalid
from leadgate.playbook.compiled import Playbook
from leadgate.playbook.model import PlaybookModel
from leadgate.playbook.references import check_references
from leadgate.playbook.scopes import build_scopes
from leadgate.playbook.yaml_source import Path, Position, SourceMap, YamlProblem, load_yaml

_FRIENDLY_TYPES = {
    "int_type": "should be a whole number",
    "int_parsing": "should be a whole number",
    "int_from_float": "should be a whole number",
    "float_type": "should be a number",
    "float_parsing": "should be a number",
    "string_type": "should be text",
    "bool_type": "should be true or false",
    "bool_parsing": "should be true or false",
    "list_type": "should be a list (written [a, b] or with '- ' lines)",
    "dict_type": "should be a block of 'key: value' lines",
    "model_type": "should be a block of 'key: value' lines",
    "date_from_datetime_parsing": "should be a date written YYYY-MM-DD",
    "date_parsing": "should be a date written YYYY-MM-DD",
    "date_type": "should be a date written YYYY-MM-DD",
}


def load_playbook(path: str | FilePath) -> Playbook:
    """Read and validate a playbook file; raise :class:`PlaybookInvalid` with every issue."""
    return parse_playbook(read_playbook_text(path), str(path))


def read_playbook_text(path: str | FilePath) -> str:
    """A playbook file's text, or a clear error: no such file, a folder, not UTF-8 text (PB001)."""
    file = FilePath(path)
    if file.is_dir():
        raise InputError(f"{file}: a folder, not a playbook file")
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"{file}: no such playbook file") from None
    except UnicodeDecodeError:
        raise PlaybookInvalid(str(file), [Issue(str(file), 1, 1, "PB001", "the file is not UTF-8 text")]) from None


def parse_playbook(text: str, filename: str) -> Playbook:
    """Validate playbook text; ``filename`` is only used in error locations."""
    playbook, issues = validate_playbook(text, filename)
    if playbook is None:
        raise PlaybookInvalid(filename, issues)
    return playbook


def validate_playbook(text: str, filename: str) -> tuple[Playbook | None, list[Issue]]:
    """The playbook and no issue, or no playbook and every issue sorted by position."""
    try:
        raw, source = load_yaml(text)
    except YamlProblem as problem:
        return None, [Issue(filename, problem.position.line, problem.position.column, problem.code, problem.message)]
    if not isinstance(raw, dict):
        return None, [
            Issue(
                filename, 1, 1, "PB002", "a playbook is a block of 'key: value' lines (name:, version:, scoring:, ...)"
            )
        ]
    try:
        model = PlaybookModel.model_validate(raw, context={"scopes": build_scopes(raw)})
    except ValidationError as exc:
        issues = _issues_from_validation(exc, raw, source, text, filename)
        return None, sorted(set(issues), key=lambda issue: (issue.line, issue.column, issue.code))
    playbook = Playbook(model=model, source=text, path=filename)
    issues = [
        _issue_at(filename, source.value_at(path), code, message) for code, message, path in check_references(playbook)
    ]
    if issues:
        return None, sorted(issues, key=lambda issue: (issue.line, issue.column))
    return playbook, []


def _issue_at(filename: str, position: Position, code: str, message: str) -> Issue:
    return Issue(filename, position.line, position.column, code, message)


def _issues_from_validation(exc: ValidationError, raw: Any, source: SourceMap, text: str, filename: str) -> list[Issue]:
    issues: list[Issue] = []
    for error in exc.errors():
        path, missing_key = _data_path(raw, error["loc"])
        kind = error["type"]
        context = error.get("ctx") or {}
        if kind.startswith("PB"):
            position = source.value_at(path)
            issues.append(_condition_issue(filename, position, text, kind, context["message"], context.get("offset")))
            for code, message, offset in context.get("more", []):
                issues.append(_condition_issue(filename, position, text, code, message, offset))
        elif kind == "extra_forbidden":
            name = str(path[-1])
            issues.append(_issue_at(filename, source.key_at(path), "PB010", _unknown_field(name, error)))
        elif kind == "missing":
            where = source.key_at(path) if path else source.value_at(path)
            issues.append(_issue_at(filename, where, "PB011", f"'{missing_key}' is required here"))
        elif kind == "literal_error":
            expected = context.get("expected", "")
            issues.append(_issue_at(filename, source.value_at(path), "PB012", f"should be one of {expected}"))
        else:
            message = _FRIENDLY_TYPES.get(kind) or _lowercase_first(error["msg"])
            label = f"'{path[-1]}' " if path and isinstance(path[-1], str) else ""
            issues.append(_issue_at(filename, source.value_at(path), "PB012", f"{label}{message}"))
    return issues


def _condition_issue(
    filename: str, position: Position, text: str, code: str, message: str, offset: int | None
) -> Issue:
    if offset is None:
        return _issue_at(filename, position, code, message)
    line_text = text.splitlines()[position.line - 1] if text else ""
    column = position.column + position.text_start + offset
    if column > len(line_text) + 1:  # a condition folded over several lines: point at its start
        column = position.column
    return Issue(filename, position.line, column, code, message)


def _data_path(raw: Any, loc: tuple[int | str, ...]) -> tuple[Path, str]:
    """Map pydantic's error location onto the document's keys and indexes.

    Pydantic adds tags for union members and validators (``function-plain[...]``) and
    ``[key]`` for dictionary keys; only the parts that exist in the data make the path.
    """
    path: list[str | int] = []
    node = raw
    missing = ""
    for part in loc:
        if (isinstance(node, dict) and isinstance(part, str) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            path.append(part)
            node = node[part]  # type: ignore[index]
        elif isinstance(part, str) and ("[" in part or part in ("str", "float", "int")):
            continue
        else:
            missing = str(part)
            if isinstance(node, dict):
                path.append(str(part))
            break
    return tuple(path), missing


def _unknown_field(name: str, error: Any) -> str:
    hint = difflib.get_close_matches(name, KNOWN_FIELDS, n=1, cutoff=0.75)
    suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
    return f"'{name}' is not a playbook field here{suggestion}"


def _lowercase_first(message: str) -> str:
    message = message.replace("Input should", "should").replace("Value error, ", "")
    return message[:1].lower() + message[1:]


def playbook_field_names() -> list[str]:
    """Every field name a playbook can use, at any depth (for suggestions and the docs test)."""
    seen: set[str] = set()
    visited: set[type[BaseModel]] = set()
    pending: list[type[BaseModel]] = [PlaybookModel]
    while pending:
        model = pending.pop()
        visited.add(model)
        for name, info in model.model_fields.items():
            seen.add(name)
            pending.extend(candidate for candidate in _models_in(info.annotation) if candidate not in visited)
    return sorted(seen)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    for argument in get_args(annotation):
        found.extend(_models_in(argument))
    return found


KNOWN_FIELDS = playbook_field_names()
