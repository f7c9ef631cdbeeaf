"""Signing in and out, and each role's home page.

The sign-in form has no session yet, so its CSRF token is a double-submit one: a random value in
a short-lived cookie and in the form, which must match.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadgate.errors import NotAuthenticated
from leadgate.service.users import Viewer, sign_in, sign_out
from leadgate.web.pages import HOME, SESSION_COOKIE, Posted, base_of, posted, redirect, render, runtime_of, signed_in

LOGIN_CSRF_COOKIE = "leadgate_login_csrf"

router = APIRouter()


def _safe_next(request: Request, next_path: str | None) -> str | None:
    """Only a path of this app: a sign-in link cannot send the user to another site."""
    base = base_of(request)
    if next_path and next_path.startswith(base + "/") and not next_path.startswith("//") and "\\" not in next_path:
        return next_path
    return None


def _login_page(request: Request, next_path: str | None, error: str | None = None, name: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        None,
        status_code=401 if error else 200,
        login_token=token,
        next_path=_safe_next(request, next_path) or "",
        error=error,
        name=name,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=3600, path=base_of(request) or "/", httponly=True, samesite="lax"
    )
    return response


@router.get("/login", response_class=HTMLResponse, name="login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, next)


@router.post("/login")
def login(
    request: Request,
    user_name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        return _login_page(request, next, "the sign-in form expired; please sign in again", user_name)
    runtime = runtime_of(request)
    try:
        with runtime.locked() as store:
            cookie = sign_in(
                store, user_name.strip(), password, runtime.now(), runtime.workspace.setting("session_hours")
            )
    except NotAuthenticated as error:
        return _login_page(request, next, str(error), user_name)
    target = _safe_next(request, next) or base_of(request) + "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        path=base_of(request) or "/",
        httponly=True,
        samesite="lax",
        secure=bool(runtime.workspace.setting("secure_cookies")),
        max_age=int(float(runtime.workspace.setting("session_hours")) * 3600),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=base_of(request) or "/")
    return response


@router.post("/logout")
def logout(request: Request, form: Annotated[Posted, Depends(posted)]) -> Response:
    runtime = runtime_of(request)
    with runtime.locked() as store:
        sign_out(store, request.cookies.get(SESSION_COOKIE, ""), runtime.now())
    response = redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE, path=base_of(request) or "/")
    return response


@router.get("/", name="home")
def home(request: Request, viewer: Annotated[Viewer, Depends(signed_in)]) -> Response:
    """Each role starts on its main page."""
    return redirect(request, HOME[viewer.role])
