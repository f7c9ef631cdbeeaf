"""The Typer application and the options every command shares."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import typer

from leadgate.errors import UserError
from leadgate.workspace import Workspace, find_workspace

app = typer.Typer(
    name="leadgate",
    help=(
        "leadgate: the lead qualification engine marketing and sales share.\n\n"
        "Start with 'leadgate demo DIR' (a sample workspace), or 'leadgate init DIR' then "
        "'leadgate import ...' and 'leadgate score'. Every command takes --workspace DIR "
        "(default: $LEADGATE_WORKSPACE, else the current directory)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
playbook_app = typer.Typer(help="Validate, compare, publish and roll back playbooks.", no_args_is_help=True)
import_app = typer.Typer(help="Import events, leads and accounts from files.", no_args_is_help=True)
export_app = typer.Typer(help="Export scores to files.", no_args_is_help=True)
app.add_typer(playbook_app, name="playbook")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")


@dataclass
class Context:
    workspace_option: str | None = None
    opened: list[Workspace] = field(default_factory=list)

    def close_all(self) -> None:
        for opened in self.opened:
            opened.close()

    def workspace(self) -> Workspace:
        workspace = find_workspace(self.workspace_option)
        self.opened.append(workspace)
        return workspace


@app.callback()
def _root(
    ctx: typer.Context,
    workspace: str | None = typer.Option(
        None,
        "--workspace",
        "-w",
        help="The workspace folder (default: $LEADGATE_WORKSPACE, else the current directory).",
    ),
) -> None:
    state = Context(workspace)
    ctx.obj = state
    ctx.call_on_close(state.close_all)


def state(ctx: typer.Context) -> Context:
    found = ctx.find_root().obj
    assert isinstance(found, Context)
    return found


FUTURE_SKEW = dt.timedelta(minutes=5)  # clocks differ a little between machines


def past_moment(text: str | None, option: str, why: str) -> dt.datetime | None:
    """:func:`parse_moment`, refusing a moment still to come (``why`` says what it would do)."""
    moment = parse_moment(text, option)
    if moment is not None and moment > dt.datetime.now(dt.UTC).replace(tzinfo=None) + FUTURE_SKEW:
        raise UserError(f"{option} {moment:%Y-%m-%d %H:%M} is in the future: {why}")
    return moment


def parse_moment(text: str | None, option: str = "--as-of") -> dt.datetime | None:
    """An ISO date or time as naive UTC (a time without offset is taken as UTC)."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"{option} {text!r}: write a date or time like 2026-11-26 or 2026-11-26T09:30:00+01:00"
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)
