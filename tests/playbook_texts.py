"""Playbook texts for the version tests: the example playbook, edited."""

from __future__ import annotations

from leadgate.workspace import example_playbook_text

V1 = example_playbook_text()


def edited(version: int, decision_maker_points: int = 15, text: str = V1) -> str:
    """The example playbook with another version number and points for decision makers."""
    assert "version: 1\n" in text and 'points: 15, label: "Decision maker"' in text
    return text.replace("version: 1\n", f"version: {version}\n", 1).replace(
        'points: 15, label: "Decision maker"', f'points: {decision_maker_points}, label: "Decision maker"'
    )


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the only line of ``text`` holding ``fragment``."""
    lines = [number for number, line in enumerate(text.splitlines(), 1) if fragment in line]
    assert len(lines) == 1, fragment
    return lines[0]
