"""What every page shares: the templates, the signed-in user, the CSRF check, redirects.

A page handler takes ``viewer: Viewer = Depends(signed_in)`` (a visitor without a session is
sent to the sign-in page and back) and renders with :func:`render`. A form handler takes
``form: Posted = Depends(posted)``: the form's fields, after its CSRF token was checked against
the session's.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from leadgate.errors import Forbidden
from leadgate.service.runtime import Runtime
from leadgate.service.users import Viewer, viewer_of

SESSION_COOKIE = "leadgate_session"
CSRF_FIELD = "csrf_token"

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))

# The menu of each role: (label, path under /app).
NAVIGATION: dict[str, tuple[tuple[str, str], ...]] = {
    "sales": (("My queue", "/queue"),),
    "manager": (("Team", "/team"), ("My queue", "/queue")),
    "marketing": (("Funnel", "/funnel"), ("Rules", "/rules"), ("Playbook", "/playbook")),
    "admin": (("Funnel", "/funnel"), ("Rules", "/rules"), ("Playbook", "/playbook")),
}
HOME = {role: links[0][1] for role, links in NAVIGATION.items()}


class SignInNeeded(Exception):
    """No live session: the visitor is sent to the sign-in page, then back to ``next_path``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Posted:
    """A submitted form whose CSRF token matched: who sent it and its fields."""

    viewer: Viewer
    fields: dict[str, str]
    lists: dict[str, list[str]]

    def get(self, name: str) -> str:
        return self.fields.get(name, "").strip()


@dataclass(frozen=True)
class FormError:
    """A form whose request was not recorded: which form (a decision's kind, a lead id, ``away``),
    why, and whether it was a conflict (shown atop the page rather than at the form)."""

    form: str
    message: str
    conflict: bool = False


def form_status(error: FormError | None) -> int:
    """A page's status after a form: 200, 409 for a conflict, 422 for a refusal."""
    return 200 if error is None else 409 if error.conflict else 422


def runtime_of(request: Request) -> Runtime:
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime


def base_of(request: Request) -> str:
    """Where the app is mounted (``/app``): every link and redirect starts with it."""
    return str(request.scope.get("root_path", ""))


def signed_in(request: Request) -> Viewer:
    """The signed-in user, or a trip to the sign-in page."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        runtime = runtime_of(request)
        playbook = runtime.playbook().model
        with runtime.locked() as store:
            viewer = viewer_of(store, playbook, cookie, runtime.now())
        if viewer is not None:
            return viewer
    path = request.url.path
    query = f"?{request.url.query}" if request.url.query else ""
    raise SignInNeeded(path + query)


def require_role(viewer: Viewer, *roles: str) -> None:
    if viewer.role not in roles:
        raise Forbidden(f"this page is for {' and '.join(roles)} users; you are signed in as {viewer.role}")


async def posted(request: Request, viewer: Viewer = Depends(signed_in)) -> Posted:
    """The form's fields, once its CSRF token matched the session's (else 403)."""
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not isinstance(token, str) or not secrets.compare_digest(token, viewer.csrf_token):
        raise Forbidden("this form is out of date or did not come from leadgate; reload the page and send it again")
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    lists = {name: [value for value in form.getlist(name) if isinstance(value, str)] for name in form}
    return Posted(viewer, fields, lists)


def render(
    request: Request, template: str, viewer: Viewer | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page, with what every template uses: the user, their menu, the CSRF token, the app's base path."""
    return templates.TemplateResponse(
        request,
        template,
        {
            "viewer": viewer,
            "navigation": NAVIGATION.get(viewer.role, ()) if viewer else (),
            "csrf_token": viewer.csrf_token if viewer else "",
            "base": base_of(request),
            "path": request.url.path[len(base_of(request)) :],
            **context,
        },
        status_code=status_code,
    )


def redirect(request: Request, path: str, **query: str) -> RedirectResponse:
    """See Other to a path under the app (after a form: the browser then GETs the page)."""
    suffix = "&".join(f"{name}={quote(value)}" for name, value in query.items())
    return RedirectResponse(base_of(request) + path + (f"?{suffix}" if suffix else ""), status_code=303)


def when(moment: dt.datetime | None) -> str:
    """A moment as people read it: UTC, to the minute."""
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "-"


templates.env.filters["when"] = when
