"""The web app, mounted under ``/app`` of the service: its routers and its error pages.

It is a sub-application so that its errors are pages (a 403 page, a 404 page, the sign-in page)
while the REST API's stay problem documents, and so that the pages stay out of the OpenAPI document.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from leadgate.errors import Forbidden, NotAuthenticated, NotFound, UserError
from leadgate.service.runtime import Runtime
from leadgate.web import account, marketing, playbook_pages, sales, team
from leadgate.web.pages import SignInNeeded, base_of, render, signed_in

MOUNT = "/app"

# Every router of the app; pages of each role add theirs here.
ROUTERS = (account.router, marketing.router, playbook_pages.router, sales.router, team.router)

TITLES = {400: "This request cannot be done", 403: "Not yours to see", 404: "Not found", 405: "Not allowed"}


def create_web_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(title="leadgate app", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runtime = runtime
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static")
    for router in ROUTERS:
        app.include_router(router)
    _install_error_pages(app)
    return app


def _error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    try:
        viewer = signed_in(request)
    except Exception:  # an error page for a visitor without a session still renders
        viewer = None
    title = TITLES.get(status, "Something went wrong")
    return render(request, "error.html", viewer, status_code=status, status=status, title=title, detail=detail)


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, error: SignInNeeded) -> Response:
        return RedirectResponse(f"{base_of(request)}/login?next={quote(error.next_path)}", status_code=303)

    @app.exception_handler(NotAuthenticated)
    async def _not_authenticated(request: Request, error: NotAuthenticated) -> Response:
        return RedirectResponse(f"{base_of(request)}/login", status_code=303)

    @app.exception_handler(UserError)
    async def _user_error(request: Request, error: UserError) -> Response:
        status = 403 if isinstance(error, Forbidden) else 404 if isinstance(error, NotFound) else 400
        return _error_page(request, status, str(error))

    @app.exception_handler(RequestValidationError)
    async def _bad_form(request: Request, error: RequestValidationError) -> Response:
        fields = "; ".join(f"{item.get('loc', ('', ''))[-1]}: {item.get('msg', '')}" for item in error.errors())
        return _error_page(request, 400, f"the form was not complete: {fields}")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> Response:
        detail = "there is no page at this address" if error.status_code == 404 else str(error.detail)
        return _error_page(request, error.status_code, detail)
