"""The playbook over HTTP: read the one in force and its versions, validate, publish, roll back.

A publish or a roll back is in force for the very next request and cycle: the server forgets
its cached playbook and wakes the worker, whose next cycle scores every lead again with it.
A playbook is sent as the YAML text itself (``application/yaml`` or ``text/plain``) or as JSON
``{"text": "..."}``; a bad one is answered 422 with each issue at its line, and changes nothing.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from leadgate.api.auth import allowed, runtime_of
from leadgate.api.problems import PROBLEM_RESPONSES, problem_doc
from leadgate.domain.times import UtcTime
from leadgate.errors import InputError, TooLarge
from leadgate.playbook.diff import Change
from leadgate.playbook.loader import parse_playbook
from leadgate.service.keys import Principal
from leadgate.service.playbooks import (
    MAX_VERSION,
    PlaybookVersions,
    Published,
    PublishReport,
    VersionInfo,
)
from leadgate.service.runtime import Runtime
from leadgate.store.base import Store

READ_ROLES = ("sales", "manager", "marketing", "admin")
CHANGE_ROLES = ("marketing", "admin")
MAX_PLAYBOOK_BYTES = 1024 * 1024
YAML_MEDIA_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")

router = APIRouter(tags=["playbook"])


class PlaybookInForce(BaseModel):
    """The playbook in force and, when the history has it, who put it there and when."""

    name: str
    version: int
    digest: str = Field(description="A fingerprint of the text (12 hex digits of its SHA-256)")
    text: str
    published_at: UtcTime | None = Field(
        description="When it came in force (for the workspace's first file: when the file was written); "
        "null when the file was edited by hand to reuse a published version number"
    )
    published_by: str | None


class VersionText(VersionInfo):
    """A published version with its text."""

    text: str


class ValidPlaybook(BaseModel):
    valid: bool = True
    name: str
    version: int
    digest: str
    rules: int = Field(description="How many scoring rules it has")


class RollbackRequest(BaseModel):
    version: int = Field(ge=1, le=MAX_VERSION, description="The published version to put back in force")


class DiffAnswer(BaseModel):
    from_version: int = Field(serialization_alias="from")
    to_version: int | None = Field(serialization_alias="to", description="null: the playbook in force")
    changes: list[Change]


_TEXT_SCHEMA: dict[str, Any] = {"type": "string", "description": "The playbook's YAML text"}
_PLAYBOOK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": _TEXT_SCHEMA},
            "text/plain": {"schema": _TEXT_SCHEMA},
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["text"],
                    "properties": {"text": _TEXT_SCHEMA},
                }
            },
        },
    }
}
_CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    409: problem_doc("The version number is taken, or the version is already in force"),
}
_READ = Depends(allowed(*READ_ROLES))
_CHANGE = Depends(allowed(*CHANGE_ROLES))


def _versions(store: Store, runtime: Runtime) -> PlaybookVersions:
    return PlaybookVersions(store, runtime.workspace.playbook_path)


def _actor(principal: Principal) -> str:
    """Who changed the playbook, for the history: the key's rep, else its role and id."""
    return principal.user or f"{principal.role} key {principal.key_id}"


@router.get(
    "/v1/playbook", response_model=PlaybookInForce, responses=PROBLEM_RESPONSES, summary="The playbook in force"
)
def get_playbook(request: Request, principal: Principal = _READ) -> PlaybookInForce:
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    with runtime.locked() as store:
        record = _versions(store, runtime).in_force(runtime.now(), playbook).record
    return PlaybookInForce(
        name=playbook.name,
        version=playbook.version,
        digest=playbook.digest,
        text=playbook.source,
        published_at=record.published_at if record else None,
        published_by=record.published_by if record else None,
    )


@router.get(
    "/v1/playbook/versions",
    response_model=list[VersionInfo],
    responses=PROBLEM_RESPONSES,
    summary="Every publish and roll back, oldest first",
)
def list_versions(request: Request, principal: Principal = _READ) -> list[VersionInfo]:
    runtime = runtime_of(request)
    with runtime.locked() as store:
        return _versions(store, runtime).listing(runtime.now())


@router.get(
    "/v1/playbook/versions/{version}",
    response_model=VersionText,
    responses=PROBLEM_RESPONSES,
    summary="A published version, with its text",
)
def get_version(
    request: Request, version: int = Path(ge=1, le=MAX_VERSION), principal: Principal = _READ
) -> VersionText:
    runtime = runtime_of(request)
    live = runtime.playbook().digest
    with runtime.locked() as store:
        record = _versions(store, runtime).record_of(version, runtime.now())
    return VersionText(**VersionInfo.of(record, record.digest == live).model_dump(), text=record.text)


@router.get(
    "/v1/playbook/diff",
    response_model=DiffAnswer,
    responses=PROBLEM_RESPONSES,
    summary="What changed between two published versions, in sentences",
)
def diff_versions(
    request: Request,
    from_version: int = Query(alias="from", ge=1, le=MAX_VERSION, description="The version before"),
    to_version: int | None = Query(
        None, alias="to", ge=1, le=MAX_VERSION, description="The version after (default: the playbook in force)"
    ),
    principal: Principal = _READ,
) -> DiffAnswer:
    runtime = runtime_of(request)
    with runtime.locked() as store:
        changes = _versions(store, runtime).diff(from_version, to_version, runtime.now())
    return DiffAnswer(from_version=from_version, to_version=to_version, changes=changes)


@router.post(
    "/v1/playbook/validate",
    response_model=ValidPlaybook,
    responses=PROBLEM_RESPONSES,
    openapi_extra=_PLAYBOOK_BODY,
    summary="Check a playbook without publishing it (422: every issue at its line)",
)
async def validate(request: Request, principal: Principal = _CHANGE) -> ValidPlaybook:
    runtime = runtime_of(request)
    text = await playbook_text(request)
    playbook = await run_in_threadpool(parse_playbook, text, runtime.workspace.playbook_path.name)
    return ValidPlaybook(
        name=playbook.name, version=playbook.version, digest=playbook.digest, rules=len(playbook.rules)
    )


@router.post(
    "/v1/playbook",
    response_model=PublishReport,
    status_code=201,
    responses=_CHANGE_RESPONSES,
    openapi_extra=_PLAYBOOK_BODY,
    summary="Publish a new version: in force at once",
)
async def publish(request: Request, principal: Principal = _CHANGE) -> PublishReport:
    runtime = runtime_of(request)
    text = await playbook_text(request)

    def publish_locked() -> Published:
        with runtime.locked() as store:
            return _versions(store, runtime).publish(text, _actor(principal), runtime.now())

    return _put_in_force(runtime, await run_in_threadpool(publish_locked))


@router.post(
    "/v1/playbook/rollback",
    response_model=PublishReport,
    responses=_CHANGE_RESPONSES,
    summary="Put an earlier version back in force",
)
def rollback(request: Request, body: RollbackRequest, principal: Principal = _CHANGE) -> PublishReport:
    runtime = runtime_of(request)
    with runtime.locked() as store:
        published = _versions(store, runtime).rollback(body.version, _actor(principal), runtime.now())
    return _put_in_force(runtime, published)


def _put_in_force(runtime: Runtime, published: Published) -> PublishReport:
    """Use the new playbook from the next request on, and run a cycle with it soon."""
    runtime.forget_playbook()
    runtime.worker.wake()
    return published.report()


async def playbook_text(request: Request) -> str:
    """The playbook text of the body: YAML or text as it is, or JSON ``{"text": ...}``."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PLAYBOOK_BYTES:
        raise TooLarge(f"the playbook is over {MAX_PLAYBOOK_BYTES // 1024} KB")
    raw = await request.body()
    if len(raw) > MAX_PLAYBOOK_BYTES:
        raise TooLarge(f"the playbook is over {MAX_PLAYBOOK_BYTES // 1024} KB")
    if media_type == "application/json":
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"the body is not valid JSON ({exc.msg} at character {exc.pos})") from None
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise InputError('a JSON body is {"text": "the playbook YAML"}')
        return str(body["text"])
    if media_type and media_type not in YAML_MEDIA_TYPES:
        raise InputError(
            f"Content-Type {media_type} is not taken here: send the YAML as application/yaml or text/plain, "
            'or JSON {"text": "..."}'
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the playbook is not UTF-8 text") from None
