"""``leadgate webhooks``: the outbox of the playbook's notify webhooks and e-mails."""

from __future__ import annotations

from contextlib import nullcontext

import typer
from pydantic import BaseModel
from rich.table import Table

from leadgate.cli.app import app, state
from leadgate.cli.output import console, print_json
from leadgate.errors import UserError
from leadgate.service.dead_letters import notification_items, retry_dead
from leadgate.service.delivery import workspace_delivery_settings
from leadgate.service.outbox import Outbox, collect
from leadgate.service.scoring import utc_now
from leadgate.store.outbox_store import STATUSES, OutboxStore
from leadgate.workspace import Workspace

webhooks_app = typer.Typer(
    help="The outbox of webhooks and e-mails: list what waits or is dead, retry, deliver.", no_args_is_help=True
)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("list")
def list_notifications(
    ctx: typer.Context,
    status: list[str] = typer.Option(
        ["pending", "dead"], "--status", help="pending, dead or delivered; repeat for several (default: pending, dead)."
    ),
    limit: int = typer.Option(100, "--limit", min=1, help="Show at most this many, the earliest first."),
    as_json: bool = typer.Option(False, "--json", help="Print the notifications as JSON."),
) -> None:
    """Notifications waiting to be sent or dead (every attempt failed), with the last error."""
    unknown = sorted(set(status) - set(STATUSES))
    if unknown:
        raise UserError(f"--status {', '.join(unknown)}: a status is one of {', '.join(STATUSES)}")
    workspace = state(ctx).workspace()
    settings = workspace_delivery_settings(workspace.settings)
    items = notification_items(workspace.store, status, settings, limit)
    if as_json:
        print_json(items)
        return
    if not items:
        console.print(f"No {' or '.join(status)} notification.")
        return
    table = Table("id", "status", "to", "trigger", "lead", "at", "attempts", "why")
    for item in items:
        why = item.waiting_for or item.last_error or "-"
        table.add_row(
            item.notification_id,
            item.status,
            item.destination,
            item.trigger,
            item.lead_id,
            f"{item.at:%Y-%m-%d %H:%M}",
            str(item.attempts),
            why,
        )
    console.print(table)


@webhooks_app.command("retry")
def retry(
    ctx: typer.Context,
    notification_ids: list[str] | None = typer.Argument(None, help="Dead notifications' ids (see 'webhooks list')."),
    all_dead: bool = typer.Option(False, "--all", help="Retry every dead notification."),
    as_json: bool = typer.Option(False, "--json", help="Print the ids put back in the queue as JSON."),
) -> None:
    """Put dead notifications back in the queue, with every attempt again.

    A running server holds the database: retry over its API then. After this command, the
    server's next start or 'leadgate webhooks deliver' sends them."""
    if bool(notification_ids) == all_dead:
        raise UserError("name the dead notifications to retry, or give --all (not both)")
    workspace = state(ctx).workspace()
    result = retry_dead(workspace.store, None if all_dead else notification_ids, utc_now())
    if as_json:
        print_json(result)
        return
    console.print(f"{len(result.retried)} notification(s) back in the queue.")


class DeliverySummary(BaseModel):
    collected: int
    delivered: int
    failed: int
    dead: int
    pending: int


@webhooks_app.command("deliver")
def deliver(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON.")
) -> None:
    """Collect new notifications and send every one that is due, once.

    For workspaces without a running server, e.g. after 'leadgate cycle' in a scheduled job:
    the notifications of the facts recorded since the last collection are queued, then each
    due one is attempted (a failed one waits for its retry)."""
    summary = deliver_now(state(ctx).workspace())
    if as_json:
        print_json(summary)
        return
    console.print(
        f"Collected {summary.collected}; delivered {summary.delivered}, failed {summary.failed} "
        f"(to retry), {summary.dead} dead; {summary.pending} pending.",
        highlight=False,
    )


def deliver_now(workspace: Workspace) -> DeliverySummary:
    settings = workspace_delivery_settings(workspace.settings)
    playbook = workspace.playbook()
    store = workspace.store
    collected = collect(store, playbook.model, utc_now(), settings.max_age_hours)
    outbox = Outbox(settings, lambda: nullcontext(store), lambda: playbook)
    try:
        counts = outbox.deliver_due()
    finally:
        outbox.stop()
    pending = OutboxStore(store).counts()["pending"]
    return DeliverySummary(
        collected=collected, delivered=counts.delivered, failed=counts.failed, dead=counts.dead, pending=pending
    )
