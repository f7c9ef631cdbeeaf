"""Who is calling: an API key in ``Authorization: Bearer KEY``, or HTTP basic auth with the
key as the user name (what Segment clients send as their write key)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBasicCredentials, HTTPBearer

from leadgate.errors import NotAuthenticated
from leadgate.service.keys import Principal
from leadgate.service.runtime import Runtime

bearer = HTTPBearer(auto_error=False, description="An API key made by `leadgate keys create`.")
basic = HTTPBasic(auto_error=False, description="The API key as the user name, no password (Segment's write key).")

MISSING_KEY = (
    "send an API key: 'Authorization: Bearer KEY', or HTTP basic auth with the key as the user name "
    "(as Segment clients send their write key); make one with 'leadgate keys create'"
)


def runtime_of(request: Request) -> Runtime:
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime


async def presented_key(
    token: HTTPAuthorizationCredentials | None = Depends(bearer),
    credentials: HTTPBasicCredentials | None = Depends(basic),
) -> str | None:
    """The key in the request's Authorization header, if any (``async``: FastAPI would run a
    plain function on a worker thread, a hand-over per request for no I/O at all)."""
    if token is not None:
        return token.credentials
    if credentials is not None and credentials.username:
        return credentials.username
    return None


def caller(request: Request, key: str | None = Depends(presented_key)) -> Principal:
    if not key:
        raise NotAuthenticated(MISSING_KEY)
    return runtime_of(request).principal(key)


def allowed(*roles: str) -> Callable[..., Principal]:
    """A dependency: the caller, who must hold one of ``roles``."""

    def dependency(principal: Principal = Depends(caller)) -> Principal:
        principal.require(*roles)
        return principal

    return dependency
