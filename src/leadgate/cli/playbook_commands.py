"""``leadgate playbook validate|diff|schema`` and the versions: ``publish|versions|show|rollback``."""

from __future__ import annotations

import getpass
import re
import sys
from pathlib import Path

import typer
from pydantic import BaseModel
from rich.table import Column, Table

from leadgate.cli.app import playbook_app, state
from leadgate.cli.output import console, print_json
from leadgate.errors import Issue, PlaybookInvalid, UserError
from leadgate.playbook.compiled import Playbook
from leadgate.playbook.diff import Change, diff_playbooks
from leadgate.playbook.loader import load_playbook, parse_playbook, read_playbook_text, validate_playbook
from leadgate.playbook.model import PlaybookModel
from leadgate.service.playbooks import MAX_VERSION, PlaybookVersions, Published
from leadgate.service.scoring import utc_now
from leadgate.workspace import Workspace

_VERSION_NAME = re.compile(r"v\d+")  # a published version, in diff's arguments


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
    playbook, issues = validate_playbook(read_playbook_text(file), str(file))
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
    ctx: typer.Context,
    old: str = typer.Argument(..., help="The playbook before the change: a file, or vN for published version N."),
    new: str | None = typer.Argument(
        None, help="The playbook after the change: a file, or vN (default: the playbook in force)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the changes as JSON."),
) -> None:
    """Say in words what changed between two playbooks (rules, points, stages, routing, teams...).

    Each side is a file or a published version written vN (v3); write ./v3 for a file named v3."""
    named = [side for side in (old, new) if side is None or _VERSION_NAME.fullmatch(side)]
    workspace = state(ctx).workspace() if named else None
    changes = diff_playbooks(_playbook_named(workspace, old), _playbook_named(workspace, new))
    if as_json:
        print_json(changes)
        return
    if not changes:
        console.print("No difference.")
        return
    _print_changes(changes)


def _playbook_named(workspace: Workspace | None, name: str | None) -> Playbook:
    """A file, a published version (vN), or (None) the playbook in force (the last two need the workspace)."""
    if name is not None and not _VERSION_NAME.fullmatch(name):
        return load_playbook(Path(name))
    assert workspace is not None
    if name is None:
        return workspace.playbook()
    version = _version_number(name)
    text = PlaybookVersions(workspace.store, workspace.playbook_path).text_of(version, utc_now())
    return parse_playbook(text, f"v{version}")


def _print_changes(changes: list[Change]) -> None:
    for change in changes:
        mark = {"added": "[green]+[/]", "removed": "[red]-[/]", "changed": "[yellow]~[/]"}[change.kind]
        console.print(f"{mark} {change.sentence}", highlight=False)


@playbook_app.command("schema")
def schema() -> None:
    """Print the playbook's JSON Schema (for editors and CI checks)."""
    print_json(PlaybookModel.model_json_schema())


def _version_number(text: str) -> int:
    """``3`` or ``v3`` -> 3."""
    digits = text[1:] if text[:1] in ("v", "V") else text
    if not digits.isdigit() or not 1 <= int(digits) <= MAX_VERSION:
        raise UserError(f"{text!r} is not a playbook version: write a number like 3 or v3")
    return int(digits)


def _versions(ctx: typer.Context) -> PlaybookVersions:
    workspace = state(ctx).workspace()
    return PlaybookVersions(workspace.store, workspace.playbook_path)


def _actor(by: str | None) -> str | None:
    """Who publishes: --by, else the login name (as git names an author)."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


@playbook_app.command("publish")
def publish(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The new playbook (YAML); its version: must be above every published one."),
    by: str | None = typer.Option(None, "--by", help="Who publishes it, for the history (default: your login name)."),
    as_json: bool = typer.Option(False, "--json", help="Print the new history row and the changes as JSON."),
) -> None:
    """Make FILE the playbook in force, after validating it; the history keeps every version."""
    text = read_playbook_text(file)
    published = _versions(ctx).publish(text, _actor(by), utc_now(), filename=str(file))
    _report(published, as_json, "Published")


@playbook_app.command("rollback")
def rollback(
    ctx: typer.Context,
    version: str = typer.Argument(..., help="The published version to put back in force (3 or v3)."),
    by: str | None = typer.Option(None, "--by", help="Who rolls back, for the history (default: your login name)."),
    as_json: bool = typer.Option(False, "--json", help="Print the new history row and the changes as JSON."),
) -> None:
    """Put the text of an earlier version back in force; the history records the roll back."""
    published = _versions(ctx).rollback(_version_number(version), _actor(by), utc_now())
    _report(published, as_json, "Rolled back to")


def _report(published: Published, as_json: bool, verb: str) -> None:
    record = published.record
    if as_json:
        print_json(published.report())
        return
    replaced = f", replacing version {record.replaced_version}" if record.replaced_version is not None else ""
    console.print(
        f"{verb} “{record.name}” version {record.version} (digest {record.digest}){replaced}: "
        f"{len(published.changes)} change{'s' if len(published.changes) != 1 else ''}.",
        highlight=False,
    )
    _print_changes(published.changes)


@playbook_app.command("versions")
def versions(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the history as JSON.")
) -> None:
    """The history of the playbook in force: every publish and roll back, oldest first."""
    listing = _versions(ctx).listing(utc_now())
    if as_json:
        print_json(listing)
        return
    if not listing:
        console.print("No playbook recorded: the workspace's playbook file is missing or has errors.")
        return
    table = Table("version", "action", Column("at (UTC)", no_wrap=True), "by", "digest")
    for row in listing:
        table.add_row(
            str(row.version),
            f"{row.action}, in force" if row.in_force else row.action,
            f"{row.published_at:%Y-%m-%d %H:%M}",
            row.published_by or "-",
            row.digest,
            style="bold green" if row.in_force else None,
        )
    console.print(table)


@playbook_app.command("show")
def show(
    ctx: typer.Context,
    version: str | None = typer.Argument(None, help="A published version (3 or v3); default: the playbook in force."),
) -> None:
    """Print the text of a published version, or of the playbook in force."""
    workspace = state(ctx).workspace()
    if version is None:
        text = workspace.playbook().source
    else:
        text = PlaybookVersions(workspace.store, workspace.playbook_path).text_of(_version_number(version), utc_now())
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
