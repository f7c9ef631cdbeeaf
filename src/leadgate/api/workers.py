"""The app of one server process among several (``leadgate serve --workers N``).

uvicorn starts each worker process afresh and imports the app from a string, so the serve
command hands the workspace, the database and the cycle period over in the environment and
each process builds its own runtime from them (its own connections, intake and worker; the
PostgreSQL store makes the processes take turns where they must).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from leadgate.api.app import create_app
from leadgate.service.runtime import Runtime, tune_interpreter
from leadgate.workspace import find_workspace

CYCLE_EVERY_ENV = "LEADGATE_CYCLE_EVERY"


def app_from_environment() -> FastAPI:
    """uvicorn's factory: the workspace from ``LEADGATE_WORKSPACE``, the database from
    ``LEADGATE_DATABASE`` (as every command reads it), the cycle period from ``LEADGATE_CYCLE_EVERY``."""
    workspace = find_workspace(None)
    app = create_app(Runtime(workspace, idle_seconds=float(os.environ.get(CYCLE_EVERY_ENV, "30"))))
    tune_interpreter()
    return app
