"""``leadgate import events|leads|accounts FILE``."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import BaseModel

from leadgate.cli.app import import_app, state
from leadgate.cli.output import byte_progress, console, print_json
from leadgate.domain.traits import TraitType
from leadgate.errors import PlaybookInvalid
from leadgate.ingest.importer import ImportKind, ImportOptions, ImportReport, import_file
from leadgate.ingest.outcomes import read_outcomes
from leadgate.ingest.readers import check_readable, detect_format, total_size
from leadgate.ingest.stage_dates import apply_stage_dates, check_stage_dates, read_stage_dates
from leadgate.ingest.tables import ColumnMap
from leadgate.playbook.scopes import trait_declarations
from leadgate.service.decisions import apply_outcomes
from leadgate.workspace import Workspace

MAP_HELP = "Map a column: TARGET=SOURCE (e.g. lead_id='Contact ID'); repeat the option or separate pairs with commas."
SKIP_HELP = "Import the good rows and write the bad ones to FILE.rejects.jsonl (by default a file with a bad row imports nothing)."


class ImportSummary(BaseModel):
    file: str
    kind: str
    rows_read: int
    rows_rejected: int
    events_added: int
    traits_added: int
    identities_added: int
    aliases_applied: int
    rejects_file: str | None
    batch_id: int | None
    stage_moves: int = 0  # leads files with stage dates (mql_at, sql_at...): lifecycle moves recorded


def _run(
    ctx: typer.Context, kind: ImportKind, file: Path, column_map: list[str], skip_invalid: bool, as_json: bool
) -> None:
    workspace = state(ctx).workspace()
    check_readable(file)
    stage_rows = read_stage_dates(file, ColumnMap.parse(column_map)) if kind == "leads" else []
    if stage_rows:
        check_stage_dates(stage_rows, workspace.playbook(), str(file))
    options = ImportOptions(
        kind=kind,
        column_map=ColumnMap.parse(column_map),
        skip_invalid=skip_invalid,
        trait_types=_trait_types(workspace, kind),
    )
    file_format = detect_format(file)
    with byte_progress(f"importing {file.name}", total_size(file, file_format), enabled=not as_json) as advance:
        report = import_file(workspace.store, file, options, progress=advance)
    moves = apply_stage_dates(workspace.store, workspace.playbook(), stage_rows, str(file)).moves if stage_rows else 0
    _show(report, as_json, moves)


def _trait_types(workspace: Workspace, kind: ImportKind) -> dict[str, TraitType]:
    """The declared trait types, so a number trait with text in it is refused at import."""
    try:
        declarations = workspace.playbook().model.traits.model_dump()
    except PlaybookInvalid:
        declarations = {}
    lead, account = trait_declarations(declarations)
    return dict(account if kind == "accounts" else lead)


def _show(report: ImportReport, as_json: bool, stage_moves: int = 0) -> None:
    batch = report.batch
    summary = ImportSummary(
        file=report.file,
        kind=report.kind,
        rows_read=report.rows_read,
        rows_rejected=report.rows_rejected,
        events_added=batch.events_added if batch else 0,
        traits_added=batch.traits_added if batch else 0,
        identities_added=batch.identities_added if batch else 0,
        aliases_applied=batch.aliases_applied if batch else 0,
        rejects_file=report.rejects_file,
        batch_id=batch.batch_id if batch else None,
        stage_moves=stage_moves,
    )
    if as_json:
        print_json(summary)
        return
    console.print(
        f"{report.file}: {summary.rows_read:,} rows read; added {summary.events_added:,} events, "
        f"{summary.traits_added:,} traits, {summary.identities_added:,} identity links"
        + (" (all were already stored)" if report.facts_added == 0 and report.rows_read else ""),
        highlight=False,
    )
    if stage_moves:
        console.print(f"{report.file}: recorded {stage_moves:,} stage moves from its stage dates", highlight=False)
    if report.rows_rejected:
        console.print(
            f"[yellow]{report.rows_rejected:,} bad rows skipped[/]; they are in {report.rejects_file}", highlight=False
        )


@import_app.command("events")
def import_events(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Segment JSON lines (.jsonl, .jsonl.gz) or a flat .csv/.parquet table."),
    column_map: list[str] = typer.Option([], "--map", help=MAP_HELP),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help=SKIP_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import events: Segment track/page/screen/identify/group/alias messages, or a flat table with
    columns message_id, user_id, anonymous_id, event, timestamp, properties (a JSON object).
    Importing the same file twice adds nothing."""
    _run(ctx, "events", file, column_map, skip_invalid, as_json)


@import_app.command("leads")
def import_leads(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A CSV (or Parquet) file with a header; needs a lead_id column."),
    column_map: list[str] = typer.Option([], "--map", help=MAP_HELP),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help=SKIP_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import leads: each column becomes a trait (account_id links the lead to its account;
    learnt_at, if present, says when the values were true)."""
    _run(ctx, "leads", file, column_map, skip_invalid, as_json)


@import_app.command("accounts")
def import_accounts(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A CSV (or Parquet) file with a header; needs an account_id column."),
    column_map: list[str] = typer.Option([], "--map", help=MAP_HELP),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help=SKIP_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import accounts: each column becomes an account trait (employees, industry, country, owner...)."""
    _run(ctx, "accounts", file, column_map, skip_invalid, as_json)


@import_app.command("outcomes")
def import_outcomes(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="A CSV (or Parquet) file with a header: lead_id and outcome + at, or won_at/lost_at/opportunity_at."
    ),
    column_map: list[str] = typer.Option([], "--map", help=MAP_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Record outcomes from a CRM export (opportunity, won, lost). Every row must fit the lead's stage
    (only an SQL or an opportunity can be won or lost); a file with a bad row records nothing."""
    workspace = state(ctx).workspace()
    rows = read_outcomes(file, ColumnMap.parse(column_map))
    applied = apply_outcomes(workspace.store, workspace.playbook(), rows, str(file))
    if as_json:
        print_json(
            {"file": str(file), "outcomes_recorded": applied.recorded, "already_recorded": applied.already_recorded}
        )
        return
    again = f" ({applied.already_recorded:,} were already recorded)" if applied.already_recorded else ""
    console.print(f"{file}: {applied.recorded:,} outcomes recorded{again}.", highlight=False)
