"""API keys over HTTP, for admins: create one (shown once), list them, revoke one.

A revoked key is refused (401) from the very next request: the server forgets the keys it
had already checked.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from leadgate.api.auth import allowed, runtime_of
from leadgate.api.problems import PROBLEM_RESPONSES
from leadgate.domain.times import UtcTime
from leadgate.service.keys import ROLE_HELP, Principal, Role, create_key, revoke_key
from leadgate.store.keys_store import KeyRecord, KeysStore

router = APIRouter(tags=["keys"])
_ADMIN = Depends(allowed("admin"))


class NewKey(BaseModel):
    role: Role = Field(description="; ".join(f"{role}: {text}" for role, text in ROLE_HELP.items()))
    user: str | None = Field(None, description="The rep the key acts as (needed for sales and manager keys)")
    team: str | None = Field(None, description="Limit a sales or manager key to one of the rep's teams")


class KeyInfo(BaseModel):
    """A key's record: never the key itself, nor its hash."""

    key_id: str
    role: str
    user: str | None
    team: str | None
    created_at: UtcTime
    revoked_at: UtcTime | None

    @classmethod
    def of(cls, record: KeyRecord) -> KeyInfo:
        return cls(
            key_id=record.key_id,
            role=record.role,
            user=record.user_name,
            team=record.team,
            created_at=record.created_at,
            revoked_at=record.revoked_at,
        )


class CreatedKey(KeyInfo):
    key: str = Field(description="The key itself, shown this once: only its hash is stored")


@router.post(
    "/v1/keys",
    response_model=CreatedKey,
    status_code=201,
    responses=PROBLEM_RESPONSES,
    summary="Create a key (the answer is the only time the key is shown)",
)
def post_key(request: Request, body: NewKey, principal: Principal = _ADMIN) -> CreatedKey:
    runtime = runtime_of(request)
    playbook = runtime.playbook().model  # sales and manager keys name a rep of its teams
    with runtime.locked() as store:
        key, record = create_key(store, playbook, body.role, body.user, body.team, runtime.now())
    return CreatedKey(key=key, **KeyInfo.of(record).model_dump())


@router.get("/v1/keys", response_model=list[KeyInfo], responses=PROBLEM_RESPONSES, summary="Every key, live or revoked")
def list_keys(request: Request, principal: Principal = _ADMIN) -> list[KeyInfo]:
    runtime = runtime_of(request)
    with runtime.locked() as store:
        return [KeyInfo.of(record) for record in KeysStore(store).all()]


@router.delete(
    "/v1/keys/{key_id}",
    status_code=204,
    response_class=Response,
    responses=PROBLEM_RESPONSES,
    summary="Revoke a key: refused (401) from the next request on",
)
def delete_key(request: Request, key_id: str, principal: Principal = _ADMIN) -> Response:
    runtime = runtime_of(request)
    with runtime.locked() as store:
        revoke_key(store, key_id, runtime.now())
    runtime.forget_keys()
    return Response(status_code=204)
