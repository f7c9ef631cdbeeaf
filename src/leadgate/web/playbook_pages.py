"""The playbook page: the version in force, its history, diffs, and the editor (check, preview, publish, roll back).

The editor is one form whose buttons post the same draft to different actions, so the draft
survives every round trip in its textarea and no JavaScript is needed. Publishing and rolling
back go through :class:`PlaybookVersions`, as the REST API's do, and the server uses the new
version from the next request on (``runtime.forget_playbook()``) and runs a cycle with it soon.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from leadgate.analytics.backtest import Window
from leadgate.analytics.backtest_figures import run_backtest
from leadgate.analytics.backtest_models import BacktestReport
from leadgate.errors import UserError
from leadgate.lifecycle.decisions import Conflict
from leadgate.playbook.diff import diff_playbooks
from leadgate.service.playbooks import MAX_VERSION, PlaybookVersions, VersionInfo
from leadgate.service.runtime import Runtime
from leadgate.service.users import Viewer
from leadgate.store.base import Store
from leadgate.web.marketing import MARKETING_ROLES, day_of, marketer
from leadgate.web.pages import Posted, posted, redirect, render, require_role, runtime_of
from leadgate.web.playbook_draft import Draft, check_draft

PREVIEW_DAYS = 90  # the preview replays this many days before now unless the form says otherwise
SHOWN_LEADS = 20  # converted leads listed per table of the preview
# How the page tells what put the version in force (the history's actions).
ACTION_WORDS = {
    "publish": "Published",
    "rollback": "Rolled back",
    "initial": "Found in force",
    "edited": "Edited by hand",
}

router = APIRouter()


def _versions(store: Store, runtime: Runtime) -> PlaybookVersions:
    return PlaybookVersions(store, runtime.workspace.playbook_path)


def _version_number(text: str | None, what: str) -> int | None:
    if not text:
        return None
    if not text.strip().isdigit() or not 1 <= int(text) <= MAX_VERSION:
        raise UserError(f"{what} {text!r} is not a playbook version number")
    return int(text)


def _rollback_targets(listing: list[VersionInfo]) -> list[int]:
    """The seq of the latest row of each version whose text is not the one in force: one button per version."""
    live = next((row.digest for row in listing if row.in_force), None)
    latest: dict[int, VersionInfo] = {}
    for row in listing:
        latest[row.version] = row
    return [row.seq for row in latest.values() if row.digest != live]


def _page(
    request: Request, viewer: Viewer, draft_text: str | None = None, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    """The playbook page; ``draft_text`` is the editor's content (None: the text in force)."""
    for name in ("diff", "draft", "draft_changes", "preview", "problem", "notice"):
        extra.setdefault(name, None)
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    now = runtime.now()
    with runtime.locked() as store:
        versions = _versions(store, runtime)
        in_force = versions.in_force(now, playbook)
        listing = versions.listing(now)
        top = versions.history.top_version()
    return render(
        request,
        "marketing_playbook.html",
        viewer,
        status_code=status_code,
        playbook=playbook,
        record=in_force.record,
        listing=list(reversed(listing)),
        rollback_targets=_rollback_targets(listing),
        versions=sorted({row.version for row in listing}),
        top_version=top,
        action_words=ACTION_WORDS,
        draft_text=playbook.source if draft_text is None else draft_text,
        preview_from=extra.pop("preview_from", ""),
        preview_to=extra.pop("preview_to", ""),
        **extra,
    )


@router.get("/playbook", response_class=HTMLResponse)
def playbook_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(marketer)],
    from_version: Annotated[str | None, Query(alias="from", max_length=20)] = None,
    to_version: Annotated[str | None, Query(alias="to", max_length=20)] = None,
    published: Annotated[str | None, Query(max_length=20)] = None,
    rolled_back: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """The version in force, the history, and the diff between two versions when asked for."""
    old, new = _version_number(from_version, "From"), _version_number(to_version, "To")
    diff = None
    if old is not None:
        runtime = runtime_of(request)
        with runtime.locked() as store:
            diff = _versions(store, runtime).diff(old, new, runtime.now())
    notice = None  # after a publish or a roll back (numbers only: a link cannot make the page say anything else)
    if published_version := _version_number(published, "Published"):
        notice = f"Version {published_version} is published and in force."
    elif rolled_back_version := _version_number(rolled_back, "Rolled back"):
        notice = f"Rolled back: version {rolled_back_version} is in force again."
    return _page(request, viewer, diff=diff, diff_from=old, diff_to=new, notice=notice)


def _drafted(request: Request, form: Posted) -> Draft:
    require_role(form.viewer, *MARKETING_ROLES)
    return check_draft(form.fields.get("draft", ""), runtime_of(request).workspace.playbook_path.name)


def _draft_context(request: Request, draft: Draft, form: Posted) -> dict[str, Any]:
    """What the page shows about a draft: its issues at their lines, or what it changes."""
    changes = diff_playbooks(runtime_of(request).playbook(), draft.playbook) if draft.playbook else None
    return {
        "draft": draft,
        "draft_lines": draft.listing() if not draft.valid else [],
        "draft_changes": changes,
        "preview_from": form.get("preview_from"),
        "preview_to": form.get("preview_to"),
    }


@router.post("/playbook/check", response_class=HTMLResponse)
def check(request: Request, form: Annotated[Posted, Depends(posted)]) -> HTMLResponse:
    """Validate the draft: every error at its line, or what it would change."""
    draft = _drafted(request, form)
    return _page(
        request,
        form.viewer,
        draft.text,
        status_code=200 if draft.valid else 422,
        checked=True,
        **_draft_context(request, draft, form),
    )


def preview_window(start: str, end: str, now: dt.datetime) -> Window:
    """The replayed span: the form's days (both included), else the last :data:`PREVIEW_DAYS` days, weekly."""
    first, last = day_of(start, "Preview from"), day_of(end, "Preview to")
    stop = dt.datetime.combine(last + dt.timedelta(days=1), dt.time()) if last else now.replace(microsecond=0)
    begin = dt.datetime.combine(first, dt.time()) if first else stop - dt.timedelta(days=PREVIEW_DAYS)
    if begin >= stop:
        raise UserError(f"the preview starts on {begin:%Y-%m-%d}, not before it ends: choose an earlier From date")
    return Window(begin, stop, "week")


@router.post("/playbook/preview", response_class=HTMLResponse)
def preview(request: Request, form: Annotated[Posted, Depends(posted)]) -> HTMLResponse:
    """Replay the recent history under the draft beside the version in force, before publishing it."""
    draft = _drafted(request, form)
    context = _draft_context(request, draft, form)
    if draft.playbook is None:
        return _page(request, form.viewer, draft.text, status_code=422, checked=True, **context)
    runtime = runtime_of(request)
    window = preview_window(form.get("preview_from"), form.get("preview_to"), runtime.now())
    current = runtime.playbook()
    with runtime.side_store() as store:  # the server goes on deciding and cycling meanwhile
        report: BacktestReport = run_backtest(store, current, draft.playbook, window)
    return _page(request, form.viewer, draft.text, preview=report, shown_leads=SHOWN_LEADS, **context)


@router.post("/playbook/publish", response_model=None)
def publish(request: Request, form: Annotated[Posted, Depends(posted)]) -> Response:
    """Publish the draft: in force at once; a bad draft or a taken version number changes nothing."""
    draft = _drafted(request, form)
    context = _draft_context(request, draft, form)
    if draft.playbook is None:
        return _page(request, form.viewer, draft.text, status_code=422, checked=True, **context)
    runtime = runtime_of(request)
    try:
        with runtime.locked() as store:
            published = _versions(store, runtime).publish(
                draft.text, form.viewer.name, runtime.now(), runtime.workspace.playbook_path.name
            )
    except Conflict as conflict:
        return _page(request, form.viewer, draft.text, status_code=409, problem=str(conflict), **context)
    _put_in_force(runtime)
    return redirect(request, "/playbook", published=str(published.record.version))


@router.post("/playbook/rollback", response_model=None)
def rollback(request: Request, form: Annotated[Posted, Depends(posted)]) -> Response:
    """Put an earlier version back in force (the history says who did it, and when)."""
    require_role(form.viewer, *MARKETING_ROLES)
    version = _version_number(form.get("version"), "The version to roll back to")
    if version is None:
        raise UserError("choose the version to roll back to")
    runtime = runtime_of(request)
    with runtime.locked() as store:
        _versions(store, runtime).rollback(version, form.viewer.name, runtime.now())
    _put_in_force(runtime)
    return redirect(request, "/playbook", rolled_back=str(version))


def _put_in_force(runtime: Runtime) -> None:
    """As the REST API's publish: the next request reads the new file, and a cycle scores every lead with it."""
    runtime.forget_playbook()
    runtime.worker.wake()
