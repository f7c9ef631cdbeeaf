"""What changed between two playbooks, in sentences a marketer can read.

Rules are matched by their ``id`` if they have one, else their label, else what they test
(the condition, or the event and filter), so inserting a rule does not make every later rule
look changed. Lists of plain values (countries, team members) are compared as sets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from leadgate.playbook.compiled import Playbook

ChangeKind = Literal["added", "removed", "changed"]


class Change(BaseModel):
    """One difference: where, what kind, and the sentence that says it."""

    path: str
    kind: ChangeKind
    sentence: str


def _rule_key(rule: dict[str, Any]) -> str:
    if rule.get("id"):
        return str(rule["id"])
    if rule.get("label"):
        return str(rule["label"])
    if "event" in rule:
        return rule["event"] + (f" where {rule['where']}" if rule.get("where") else "")
    return str(rule.get("when") or rule.get("to") or rule.get("on"))


def _notify_key(item: dict[str, Any]) -> str:
    return f"{item['on']} -> {item['send']} {item.get('url') or item.get('to') or ''}".strip()


# Lists of mappings and how their items are matched between versions.
_KEYED_LISTS: dict[str, Callable[[dict[str, Any]], str]] = {
    "scoring.fit": _rule_key,
    "scoring.engagement.rules": _rule_key,
    "scoring.scores.*.rules": _rule_key,
    "accounts.fit": _rule_key,
    "routing": _rule_key,
    "notify": _notify_key,
}

_NAMES: list[tuple[str, str]] = [
    ("scoring.fit.*", "fit rule"),
    ("scoring.engagement.rules.*", "engagement rule"),
    ("scoring.scores.*.rules.*", "rule of a named score"),
    ("scoring.scores.*", "named score"),
    ("scoring.product.signals.*", "product signal"),
    ("accounts.fit.*", "account fit rule"),
    ("accounts.buying_roles.*", "buying role"),
    ("stages.sal.reject_reasons.*", "rejection reason"),
    ("stages.*", "stage"),
    ("routing.*", "routing rule"),
    ("teams.*", "team"),
    ("notify.*", "notification"),
    ("lists.*", "list"),
    ("traits.lead.*", "lead trait"),
    ("traits.account.*", "account trait"),
]


def diff_playbooks(old: Playbook, new: Playbook) -> list[Change]:
    """Every difference between ``old`` and ``new``, in document order."""
    changes: list[Change] = []
    _compare(old.model.model_dump(mode="json"), new.model.model_dump(mode="json"), (), changes)
    return changes


def _matches(path: tuple[str, ...], pattern: str) -> bool:
    parts = pattern.split(".")
    return len(parts) == len(path) and all(part in ("*", step) for part, step in zip(parts, path, strict=True))


def _keyed(path: tuple[str, ...]) -> Callable[[dict[str, Any]], str] | None:
    for pattern, key in _KEYED_LISTS.items():
        if _matches(path, pattern):
            return key
    return None


def _compare(old: Any, new: Any, path: tuple[str, ...], changes: list[Change]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *[key for key in new if key not in old]]:
            child = (*path, str(key))
            if key not in new:
                changes.append(_removed(child, old[key]))
            elif key not in old:
                changes.append(_added(child, new[key]))
            else:
                _compare(old[key], new[key], child, changes)
        return
    if isinstance(old, list) and isinstance(new, list):
        key_of = _keyed(path)
        if key_of is not None and all(isinstance(item, dict) for item in [*old, *new]):
            _compare({key_of(item): item for item in old}, {key_of(item): item for item in new}, path, changes)
            if [key_of(item) for item in old if item in new] != [key_of(item) for item in new if item in old]:
                changes.append(
                    Change(path=".".join(path), kind="changed", sentence=f"{_describe(path)}: the order changed.")
                )
            return
        if all(not isinstance(item, (dict, list)) for item in [*old, *new]):
            added = [item for item in new if item not in old]
            removed = [item for item in old if item not in new]
            parts = []
            if added:
                parts.append("added " + ", ".join(map(_show, added)))
            if removed:
                parts.append("removed " + ", ".join(map(_show, removed)))
            if not parts:
                parts.append("the order changed")
            changes.append(
                Change(path=".".join(path), kind="changed", sentence=f"{_describe(path)}: {'; '.join(parts)}.")
            )
            return
    changes.append(
        Change(
            path=".".join(path),
            kind="changed",
            sentence=f"{_describe(path)} changes from {_show(old)} to {_show(new)}.",
        )
    )


def _added(path: tuple[str, ...], value: Any) -> Change:
    name = _item_name(path)
    if name:
        return Change(path=".".join(path), kind="added", sentence=f"New {name} “{path[-1]}”: {_summary(value)}.")
    return Change(path=".".join(path), kind="added", sentence=f"{_describe(path)} is now set to {_show(value)}.")


def _removed(path: tuple[str, ...], value: Any) -> Change:
    name = _item_name(path)
    if name:
        return Change(path=".".join(path), kind="removed", sentence=f"The {name} “{path[-1]}” was removed.")
    return Change(
        path=".".join(path), kind="removed", sentence=f"{_describe(path)} is no longer set (was {_show(value)})."
    )


def _item_name(path: tuple[str, ...]) -> str | None:
    for pattern, name in _NAMES:
        if _matches(path, pattern):
            return name
    return None


def _describe(path: tuple[str, ...]) -> str:
    """``scoring.fit.Decision maker.points`` -> ``Fit rule “Decision maker”: points``."""
    for end in range(len(path), 0, -1):
        name = _item_name(path[:end])
        if name:
            subject = f"{name[0].upper()}{name[1:]} “{path[end - 1]}”"
            rest = " ".join(part.replace("_", " ") for part in path[end:])
            return f"{subject}: {rest}" if rest else subject
    words = " ".join(part.replace("_", " ") for part in path)
    return words[:1].upper() + words[1:] if words else "The playbook"


def _summary(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(
            f"{key.replace('_', ' ')} {_show(item)}" for key, item in value.items() if item not in (None, False, [], {})
        )
    return _show(value)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"“{value}”"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + _summary(value) + "}"
    if value is None:
        return "nothing"
    return str(value).lower() if isinstance(value, bool) else str(value)
