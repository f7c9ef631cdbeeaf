"""A real leadgate server on a real socket, for the service tests.

``serving(tmp_path, keys={...})`` makes a workspace (the example playbook unless another is
given), creates the named API keys, starts uvicorn on a free port in a thread and yields a
:class:`Served` with the base URL, the keys and the runtime; the server stops at the end.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn

from leadgate.api.app import create_app
from leadgate.service.keys import create_key
from leadgate.service.runtime import Runtime
from leadgate.service.scoring import utc_now
from leadgate.workspace import Workspace, init_workspace

# name -> (role, user, team): the keys most tests need, over the example playbook's teams
# (enterprise: carla, dev and emea_fr: alice, bruno, both managed by erin; smb: farah, gus, hana, managed by ines).
STANDARD_KEYS: dict[str, tuple[str, str | None, str | None]] = {
    "ingest": ("ingest", None, None),
    "carla": ("sales", "carla", None),
    "farah": ("sales", "farah", None),
    "erin": ("manager", "erin", None),
    "marketing": ("marketing", None, None),
    "admin": ("admin", None, None),
}


@dataclass
class Served:
    url: str
    runtime: Runtime
    workspace: Workspace
    keys: dict[str, str] = field(default_factory=dict)

    def client(self, name: str | None = None) -> httpx.Client:
        """An HTTP client sending the named key (none: no key)."""
        headers = {"Authorization": f"Bearer {self.keys[name]}"} if name else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_workspace(root: Path, playbook_text: str | None = None) -> Workspace:
    workspace = init_workspace(root)
    if playbook_text is not None:
        workspace.playbook_path.write_text(playbook_text, encoding="utf-8")
    return workspace


def add_keys(workspace: Workspace, keys: dict[str, tuple[str, str | None, str | None]]) -> dict[str, str]:
    made = {}
    playbook = workspace.playbook().model
    for name, (role, user, team) in keys.items():
        made[name], _ = create_key(workspace.store, playbook, role, user, team, utc_now())
    workspace.close()  # the server opens its own connections
    return made


@contextmanager
def serving(
    root: Path,
    keys: dict[str, tuple[str, str | None, str | None]] | None = None,
    playbook_text: str | None = None,
    idle_seconds: float = 30.0,
    database: str | None = None,
) -> Iterator[Served]:
    """A workspace at ``root`` served on a free port until the block ends (on the database
    ``database`` names, a PostgreSQL URL, instead of the workspace's DuckDB file when given)."""
    workspace = make_workspace(root, playbook_text)
    if database is not None:
        workspace = Workspace(workspace.root, {"database": database})
    made = add_keys(workspace, STANDARD_KEYS if keys is None else keys)
    runtime = Runtime(workspace, idle_seconds=idle_seconds)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", runtime, workspace, made)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def database_on(engine: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The ``database`` of a served workspace on ``engine``, for fixtures of any scope: a fresh
    PostgreSQL database (dropped afterwards), or None (the workspace's DuckDB file)."""
    if engine != "postgres":
        yield None
        return
    server = request.getfixturevalue("postgres_server")
    url = server.new_database()
    try:
        yield url
    finally:
        server.drop_database(url)


def wait_until(condition: object, timeout: float = 10.0, what: str = "the condition") -> None:
    """Poll ``condition()`` until it is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
