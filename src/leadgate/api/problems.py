"""Every error as an RFC 9457 problem document, mapped in one place.

A problem has a stable ``code`` (documented in docs/errors.md), the HTTP ``status``, a
``title`` and a ``detail`` sentence; input errors list each place that is wrong in ``errors``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from leadgate.errors import (
    Forbidden,
    InputError,
    LeadgateError,
    NotAuthenticated,
    NotFound,
    PlaybookInvalid,
    StoreError,
    TooLarge,
    UserError,
)
from leadgate.lifecycle.decisions import Conflict, DecisionRefused

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemPlace(BaseModel):
    where: str = Field(description="The field (a JSON path) or file:line that is wrong")
    code: str | None = None
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="A URI naming the kind of problem: urn:leadgate:problem:CODE")
    title: str
    status: int
    detail: str
    code: str = Field(description="The stable code of the problem (see docs/errors.md)")
    instance: str | None = None
    errors: list[ProblemPlace] = Field(default_factory=list)


# (error class, HTTP status, code, title), the most specific first.
ERROR_STATUSES: tuple[tuple[type[LeadgateError], int, str, str], ...] = (
    (NotAuthenticated, 401, "unauthenticated", "No valid API key"),
    (Forbidden, 403, "forbidden", "Not allowed for this key"),
    (NotFound, 404, "not_found", "Not found"),
    (Conflict, 409, "conflict", "Conflict with the current state"),
    (DecisionRefused, 422, "decision_refused", "The decision cannot be taken"),
    (PlaybookInvalid, 422, "playbook_invalid", "The playbook has errors"),
    (TooLarge, 400, "too_large", "Too large"),
    (InputError, 400, "bad_input", "The input cannot be taken"),
    (UserError, 400, "bad_request", "Bad request"),
    (StoreError, 503, "store_unavailable", "The store failed"),
)

HTTP_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthenticated", "No valid API key"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("too_large", "Request too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
}


def problem_doc(description: str) -> dict[str, Any]:
    """An OpenAPI response: a problem document, under its own media type."""
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: problem_doc(title)
    for status, title in (
        (400, "Bad input"),
        (401, "No valid API key"),
        (403, "Not allowed for this key"),
        (404, "Not found"),
        (422, "Invalid request"),
    )
}


def problem_response(
    status: int, code: str, title: str, detail: str, request: Request, errors: list[ProblemPlace] | None = None
) -> JSONResponse:
    body = Problem(
        type=f"urn:leadgate:problem:{code}",
        title=title,
        status=status,
        detail=detail,
        code=code,
        instance=request.url.path,
        errors=errors or [],
    )
    headers = {"WWW-Authenticate": 'Basic realm="leadgate", Bearer'} if status == 401 else None
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _places(error: LeadgateError) -> list[ProblemPlace]:
    if isinstance(error, (InputError, PlaybookInvalid)):
        return [
            ProblemPlace(
                where=f"{issue.file}:{issue.line}" if issue.line else issue.file, code=issue.code, message=issue.message
            )
            for issue in error.issues
        ]
    return []


def declare_problem_schema(app: FastAPI) -> None:
    """Put the Problem schema in the OpenAPI document's components (PROBLEM_RESPONSES refer to it
    under its own media type, which FastAPI's ``model=`` would declare as application/json)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in (
                Problem.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {}).items()
            ):
                schemas.setdefault(name, schema)
            schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas["Problem"].pop("$defs", None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_problem_handlers(app: FastAPI) -> None:
    """Map leadgate's errors, request validation and HTTP errors to problem documents."""

    @app.exception_handler(LeadgateError)
    async def _leadgate_error(request: Request, error: LeadgateError) -> JSONResponse:
        for kind, status, code, title in ERROR_STATUSES:
            if isinstance(error, kind):
                return problem_response(status, code, title, str(error), request, _places(error))
        return problem_response(500, "internal", "Internal error", str(error), request)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        broken = next((item for item in error.errors() if item.get("type") == "json_invalid"), None)
        if broken is not None:  # the body is not JSON at all: say so as ingestion does, at its character
            at = broken.get("loc", ("body", "?"))[-1]
            cause = (broken.get("ctx") or {}).get("error", "JSON decode error")
            detail = f"the body is not valid JSON ({cause} at character {at})"
            return problem_response(400, "bad_input", "The input cannot be taken", detail, request)
        places = [
            ProblemPlace(
                where=".".join(str(part) for part in item.get("loc", ())),
                code=item.get("type"),
                message=item.get("msg", ""),
            )
            for item in error.errors()
        ]
        detail = "; ".join(f"{place.where}: {place.message}" for place in places) or "the request is not valid"
        return problem_response(422, "invalid_request", "Invalid request", detail, request, places)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
        code, title = HTTP_CODES.get(error.status_code, ("http_error", "HTTP error"))
        detail = str(error.detail) if error.detail else title
        return problem_response(error.status_code, code, title, detail, request)
