"""The FastAPI application: routers, one error mapping, the runtime's threads in its lifespan."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from leadgate.api import handoff, ingest, keys, leads, people, playbooks, webhooks
from leadgate.api.auth import runtime_of
from leadgate.api.problems import declare_problem_schema, install_problem_handlers
from leadgate.service.durations import RecentDurations
from leadgate.service.runtime import Runtime
from leadgate.web.app import MOUNT, create_web_app

DESCRIPTION = """The lead qualification engine's HTTP service.

* **Ingestion** follows the Segment HTTP Tracking API: point a Segment client at this server.
* **The REST API** reads leads, scores and queues, and records sales decisions.
* **The web app** for sales and marketing is under `/app` (users from `leadgate users create`).

Authenticate with an API key from `leadgate keys create`: `Authorization: Bearer KEY`, or HTTP
basic auth with the key as the user name. Errors are RFC 9457 problem documents with a stable
`code` (see docs/errors.md).
"""


service = APIRouter(tags=["service"])


class Durations(BaseModel):
    """The most recent durations of one kind of work (up to 1,000 of them)."""

    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float


class Health(BaseModel):
    status: str
    cycles: int
    commits: int
    checkpoints: int  # of the database by the server's own thread (DuckDB; 0 on PostgreSQL)
    leads_rescored: int = 0  # by the cycles, in all (a lead once a cycle)
    leads_folded: int = 0  # of them, those whose new facts were folded into their kept state (DuckDB)
    last_cycle_error: str | None = None
    cycle_ms: Durations | None = None  # qualification cycles, their notifications collected (null: none yet)
    commit_ms: Durations | None = None  # commits of ingested messages (null: none yet)
    checkpoint_ms: Durations | None = None  # checkpoints (null: none yet)


def _durations(recent: RecentDurations) -> Durations | None:
    summary = recent.summary()
    return None if summary is None else Durations(**dataclasses.asdict(summary))


@service.get("/v1/health", response_model=Health, summary="Is the service up (no key needed)")
def health(request: Request) -> Health:
    """Whether the service runs, how many cycles, commits and checkpoints it made, and how long the recent ones took."""
    current = runtime_of(request)
    return Health(
        status="ok",
        cycles=current.worker.cycles,
        commits=current.intake.commits,
        checkpoints=current.checkpointer.checkpoints,
        leads_rescored=current.worker.leads_rescored,
        leads_folded=current.worker.leads_folded,
        last_cycle_error=current.worker.last_error,
        cycle_ms=_durations(current.worker.durations),
        commit_ms=_durations(current.intake.durations),
        checkpoint_ms=_durations(current.checkpointer.durations),
    )


# Every router of the service, in the order of the OpenAPI document.
ROUTERS: tuple[APIRouter, ...] = (
    service,
    ingest.router,
    leads.router,
    handoff.router,
    people.router,
    playbooks.router,
    keys.router,
    webhooks.router,
)


def create_app(runtime: Runtime) -> FastAPI:
    """The app around a runtime; its threads start and stop with the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(title="leadgate", version=version("leadgate"), description=DESCRIPTION, lifespan=lifespan)
    app.state.runtime = runtime
    install_problem_handlers(app)

    for router in ROUTERS:
        app.include_router(router)
    declare_problem_schema(app)
    app.mount(MOUNT, create_web_app(runtime))

    @app.get("/", include_in_schema=False)
    def front_door() -> RedirectResponse:
        return RedirectResponse(f"{MOUNT}/")

    return app
