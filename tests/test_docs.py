"""The docs are part of the product: every command, option, setting, error code and playbook
field must be documented, and this test fails when one is not."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main

from leadgate.api.app import ROUTERS
from leadgate.api.problems import ERROR_STATUSES, HTTP_CODES
from leadgate.cli import app
from leadgate.codes import CODES
from leadgate.playbook.conditions.parser import KEYWORDS
from leadgate.playbook.loader import playbook_field_names
from leadgate.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def commands() -> list[tuple[str, Any]]:
    """(full name, command) for every leaf command of the CLI."""
    found: list[tuple[str, Any]] = []

    def visit(command: Any, prefix: str) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                visit(child, f"{prefix} {name}".strip())
        else:
            found.append((prefix, command))

    visit(typer.main.get_command(app), "")
    return found


def test_every_command_and_option_is_in_the_cli_docs() -> None:
    text = read("cli.md")
    missing = []
    for name, command in commands():
        if f"leadgate {name}" not in text:
            missing.append(f"leadgate {name}")
        for parameter in command.params:
            for option in parameter.opts:
                if option.startswith("--") and option != "--help" and option not in text:
                    missing.append(f"leadgate {name} {option}")
    assert missing == []


def test_every_setting_is_documented() -> None:
    text = read("settings.md")
    assert [setting.name for setting in SETTINGS if f"`{setting.name}`" not in text] == []


def test_every_error_code_is_documented_and_used() -> None:
    text = read("errors.md")
    assert [code for code in CODES if f"`{code}`" not in text] == []
    used = set()
    for path in (ROOT / "src" / "leadgate").rglob("*.py"):
        if path.name != "codes.py":
            used.update(re.findall(r'"((?:PB|IM)\d{3})"', path.read_text(encoding="utf-8")))
    assert used == set(CODES), "a code is used but not registered in codes.py, or registered but never used"


def test_every_api_problem_code_is_documented() -> None:
    text = read("errors.md").split("## HTTP API problems")[1]
    codes = {code for _, _, code, _ in ERROR_STATUSES} | {code for code, _ in HTTP_CODES.values()}
    assert sorted(code for code in codes if f"`{code}`" not in text) == []


def test_every_api_route_is_documented() -> None:
    text = read("api.md")
    missing = []
    for router in ROUTERS:
        for route in router.routes:
            for method in sorted(getattr(route, "methods", None) or ()):
                if f"`{method} {route.path}`" not in text:  # type: ignore[attr-defined]
                    missing.append(f"{method} {route.path}")  # type: ignore[attr-defined]
    assert missing == []


def test_every_playbook_field_is_documented() -> None:
    text = read("playbook.md")
    assert sorted(name for name in playbook_field_names() if f"`{name}`" not in text) == []


def test_every_condition_keyword_is_documented() -> None:
    text = read("conditions.md")
    assert sorted(word for word in KEYWORDS if not re.search(rf"\b{word}\b", text)) == []


def test_the_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1]
    assert "make demo" in first_block and "make test" in first_block
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / link).exists(), link
