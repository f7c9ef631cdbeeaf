"""``leadgate playbook validate|diff|schema``."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import BaseModel

from leadgate.cli.app import playbook_app
from leadgate.cli.output import console, print_json
from leadgate.errors import Issue, NotFound, PlaybookInvalid
from leadgate.playbook.diff import diff_playbooks
from leadgate.playbook.loader import load_playbook, validate_playbook
from leadgate.playbook.model import PlaybookModel


class ValidationReport(BaseModel):
    file: str
    valid: bool
    name: str | None = None
    version: int | None = None
    rules: int | None = None
    errors: list[dict[str, object]]


@playbook_app.command("validate")
def validate(
    file: Path = typer.Argument(..., help="The playbook file (YAML)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check a playbook and report every error with FILE:LINE:COLUMN and a code (docs/errors.md)."""
    if not file.is_file():
        raise NotFound(f"{file}: no such playbook file")
    playbook, issues = validate_playbook(file.read_text(encoding="utf-8"), str(file))
    if as_json:
        print_json(
            ValidationReport(
                file=str(file),
                valid=playbook is not None,
                name=playbook.name if playbook else None,
                version=playbook.version if playbook else None,
                rules=len(playbook.rules) if playbook else None,
                errors=[_issue_json(issue) for issue in issues],
            )
        )
        if playbook is None:
            raise typer.Exit(2)
        return
    if playbook is None:
        raise PlaybookInvalid(str(file), issues)
    console.print(
        f"[green]valid[/]: {file} — playbook “{playbook.name}” version {playbook.version}, "
        f"{len(playbook.rules)} scoring rules, {len(playbook.stage_conditions())} stage conditions",
        highlight=False,
    )


def _issue_json(issue: Issue) -> dict[str, object]:
    return {"line": issue.line, "column": issue.column, "code": issue.code, "message": issue.message}


@playbook_app.command("diff")
def diff(
    old: Path = typer.Argument(..., help="The playbook before the change."),
    new: Path = typer.Argument(..., help="The playbook after the change."),
    as_json: bool = typer.Option(False, "--json", help="Print the changes as JSON."),
) -> None:
    """Say in words what changed between two playbooks (rules, points, stages, routing, teams...)."""
    changes = diff_playbooks(load_playbook(old), load_playbook(new))
    if as_json:
        print_json(changes)
        return
    if not changes:
        console.print("No difference.")
        return
    for change in changes:
        mark = {"added": "[green]+[/]", "removed": "[red]-[/]", "changed": "[yellow]~[/]"}[change.kind]
        console.print(f"{mark} {change.sentence}", highlight=False)


@playbook_app.command("schema")
def schema() -> None:
    """Print the playbook's JSON Schema (for editors and CI checks)."""
    print_json(PlaybookModel.model_json_schema())
