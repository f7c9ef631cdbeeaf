"""``leadgate score``, ``leads``, ``explain`` and ``export scores``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from pydantic import BaseModel
from rich.table import Table

from leadgate.cli.app import app, export_app, parse_moment, past_moment, state
from leadgate.cli.output import console, number, print_json, spinner
from leadgate.cli.views import leads_table, scored_leads, stage_counts
from leadgate.domain.stages import STAGE_NAMES
from leadgate.errors import UserError
from leadgate.playbook.compiled import Playbook
from leadgate.scoring.explain import Explanation
from leadgate.service.explain import explain_lead
from leadgate.service.scoring import SCORES_TABLE, last_scored_at, run_scoring, utc_now
from leadgate.workspace import Workspace


class ScoreRunReport(BaseModel):
    kind: str
    as_of: dt.datetime
    leads_scored: int
    seconds: float
    playbook_version: int
    stages: dict[str, int]


@app.command()
def score(
    ctx: typer.Context,
    as_of: str | None = typer.Option(
        None, "--as-of", help="Score as of this time (ISO, UTC unless an offset is given; default: now)."
    ),
    incremental: bool = typer.Option(
        False, "--incremental", help="Rescore only the leads touched by facts imported since the last run."
    ),
    engine: str = typer.Option(
        "duckdb",
        "--engine",
        help="duckdb (the workspace's scores), or spark: a batch scoring on the spark_master setting's Spark, "
        "written to --output as Parquet (docs/scoring.md#engines).",
    ),
    output: Path | None = typer.Option(None, "--output", help="With --engine spark: the Parquet folder to write."),
    facts: Path | None = typer.Option(
        None, "--facts", help="With --engine spark: a folder of 'leadgate export facts' (default: exported now)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the run's summary as JSON."),
) -> None:
    """Compute every lead's fit, engagement, named scores, product signals and account view."""
    workspace = state(ctx).workspace()
    playbook = workspace.playbook()
    moment = past_moment(as_of, "--as-of", "the leads would show scores of a moment still to come")
    if engine == "spark":
        _score_on_spark(workspace, playbook, moment, output, facts, incremental, as_json)
        return
    if engine != "duckdb":
        raise UserError(f"--engine {engine!r}: duckdb or spark")
    if output is not None or facts is not None:
        raise UserError("--output and --facts go with --engine spark (DuckDB's scores stay in the workspace)")
    with spinner("scoring leads", enabled=not as_json):
        run = run_scoring(workspace.store, playbook, moment, incremental=incremental)
    stages = stage_counts(workspace.store)
    if as_json:
        print_json(
            ScoreRunReport(
                kind=run.kind,
                as_of=run.as_of,
                leads_scored=run.leads_scored,
                seconds=run.seconds,
                playbook_version=run.playbook_version,
                stages=stages,
            )
        )
        return
    note = f" ({run.reason})" if run.reason else ""
    console.print(
        f"Scored {run.leads_scored:,} leads as of {run.as_of:%Y-%m-%d %H:%M:%S} UTC with playbook "
        f"“{playbook.name}” v{playbook.version} in {run.seconds:.2f} s — {run.kind} run{note}.",
        highlight=False,
    )
    console.print("Stages: " + ", ".join(f"{name} {count:,}" for name, count in stages.items()), highlight=False)


class SparkRunReport(BaseModel):
    engine: str
    master: str
    as_of: dt.datetime
    leads_scored: int
    output: str
    playbook_version: int


def _score_on_spark(
    workspace: Workspace,
    playbook: Playbook,
    moment: dt.datetime | None,
    output: Path | None,
    facts: Path | None,
    incremental: bool,
    as_json: bool,
) -> None:
    from leadgate.service.spark_scoring import check_facts_folder, score_on_spark

    if output is None:
        raise UserError("--engine spark writes its scores to a Parquet folder: give --output DIR")
    if incremental:
        raise UserError("--incremental is DuckDB's: a Spark run scores every lead")
    if facts is not None:
        check_facts_folder(facts)
    master = str(workspace.setting("spark_master"))
    as_of = moment or utc_now()
    with spinner(f"scoring leads on Spark ({master})", enabled=not as_json):
        run = score_on_spark(workspace.store, playbook, as_of, output, master, facts)
    if as_json:
        print_json(
            SparkRunReport(
                engine="spark",
                master=master,
                as_of=as_of,
                leads_scored=run.leads_scored,
                output=str(output),
                playbook_version=playbook.version,
            )
        )
        return
    console.print(
        f"Scored {run.leads_scored:,} leads as of {as_of:%Y-%m-%d %H:%M:%S} UTC on Spark ({master}) with playbook "
        f"“{playbook.name}” v{playbook.version}; the scores are in {output} (Parquet). The workspace's scores are unchanged.",
        highlight=False,
    )


@app.command()
def leads(
    ctx: typer.Context,
    stage: str | None = typer.Option(None, "--stage", help=f"Only leads at this stage ({', '.join(STAGE_NAMES)})."),
    top: int | None = typer.Option(None, "--top", min=1, help="How many leads (default: the top_leads setting)."),
    as_json: bool = typer.Option(False, "--json", help="Print the leads as JSON."),
) -> None:
    """The best-scored leads, from the latest scoring run."""
    if stage is not None and stage not in STAGE_NAMES:
        raise UserError(f"--stage {stage!r}: not a stage; stages are {', '.join(STAGE_NAMES)}")
    workspace = state(ctx).workspace()
    rows = scored_leads(workspace.store, workspace.playbook(), stage, top or int(workspace.setting("top_leads")))
    if as_json:
        print_json([row.model_dump(mode="json") for row in rows])
        return
    if not rows:
        console.print(
            "No lead matches."
            if stage
            else "No leads yet: import some ('leadgate import ...') or run 'leadgate simulate'."
        )
        return
    console.print(leads_table(rows))


@app.command()
def explain(
    ctx: typer.Context,
    lead_id: str = typer.Argument(..., metavar="LEAD", help="The lead's id (its user id)."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Explain the score as of this time (default: the latest scoring run, else now)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the explanation as JSON."),
) -> None:
    """Why a lead has its score: every rule that gave points, after decay and caps, in words."""
    workspace = state(ctx).workspace()
    store = workspace.store
    moment = parse_moment(as_of) or last_scored_at(store) or utc_now()
    explanation = explain_lead(store, workspace.playbook(), lead_id, moment)
    if as_json:
        print_json(explanation)
        return
    _print_explanation(explanation)


def _print_explanation(explanation: Explanation) -> None:
    console.print(
        f"[bold]{explanation.lead_id}[/] — score {number(explanation.score)} = fit {number(explanation.fit)} + "
        f"engagement {number(explanation.engagement)}; stage {explanation.stage} "
        f"(playbook “{explanation.playbook}” v{explanation.playbook_version}, as of {explanation.as_of:%Y-%m-%d %H:%M} UTC)",
        highlight=False,
    )
    table = Table(show_header=True, title_justify="left")
    table.add_column("points", justify="right")
    table.add_column("rule")
    table.add_column("why")
    for item in explanation.contributions:
        table.add_row(f"{item.points:+.2f}", f"{item.label} [dim]({item.rule})[/]", item.why)
    console.print(table)
    for name, named in explanation.named_scores.items():
        parts = ", ".join(f"{item.label} {item.points:+.2f}" for item in named.contributions) or "no points"
        console.print(f"Score {name}: {number(named.score)} ({parts})", highlight=False)
    if explanation.product:
        console.print(
            "Product usage: "
            + ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in explanation.product.items()),
            highlight=False,
        )
    if explanation.account:
        account = explanation.account
        console.print(
            f"Account {account.name or account.account_id}: score {number(account.score)}, fit {number(account.fit)}, "
            f"buying roles engaged {account.coverage}",
            highlight=False,
        )
    holds = [name for name, value in explanation.qualifies.items() if value]
    console.print("Conditions that hold: " + (", ".join(holds) if holds else "none"), highlight=False)


@export_app.command("facts")
def export_facts(
    ctx: typer.Context,
    directory: Path = typer.Argument(..., help="The folder to write (created if need be)."),
) -> None:
    """Write the facts (events, traits, identities, erasures), the person keys and the lead states
    as Parquet files, one a table: what 'leadgate score --engine spark --facts DIR' reads, or an archive."""
    if directory.exists() and not directory.is_dir():
        raise UserError(f"{directory}: a file; give the folder to write")
    written = state(ctx).workspace().store.export_facts(directory)
    console.print(
        f"Wrote {len(written)} Parquet files to {directory}: " + ", ".join(p.name for p in written), highlight=False
    )


@export_app.command("scores")
def export_scores(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The file to write: .csv or .parquet."),
) -> None:
    """Write the latest scores (one row per lead, with each rule's contribution) to a file."""
    workspace = state(ctx).workspace()
    store = workspace.store
    if not store.has_table(SCORES_TABLE):
        raise UserError("no scores yet: run 'leadgate score' first")
    columns = [name for name in store.backend.table(SCORES_TABLE).columns if name != "lead_key"]
    if not file.parent.is_dir():
        raise UserError(f"{file}: the folder {file.parent} does not exist")
    if file.is_dir():
        raise UserError(f"{file}: a folder; give the file to write")
    rows = store.export_table(SCORES_TABLE, file, columns)
    console.print(f"Wrote {rows:,} leads to {file}", highlight=False)
