"""A workspace: a folder with settings, the playbook in force and its database (an embedded
DuckDB file in the folder, or a PostgreSQL database named by URL).

Commands find it from ``--workspace DIR``, else ``LEADGATE_WORKSPACE``, else the current
directory. A folder is a workspace when it holds ``leadgate.toml``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from leadgate.errors import WorkspaceError
from leadgate.playbook.compiled import Playbook
from leadgate.playbook.loader import load_playbook
from leadgate.settings import SETTINGS_FILE, ResolvedSetting, resolve_settings, settings_file_text
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore
from leadgate.store.opening import is_database_url, open_store

WORKSPACE_ENV = "LEADGATE_WORKSPACE"


def example_playbook_text() -> str:
    """The example playbook shipped with leadgate (uses every construct of the format)."""
    return resources.files("leadgate").joinpath("templates/playbook.yaml").read_text(encoding="utf-8")


@dataclass
class Workspace:
    root: Path
    flags: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def settings(self) -> dict[str, ResolvedSetting]:
        return resolve_settings(self.root, self.flags)

    def setting(self, name: str) -> Any:
        return self.settings[name].value

    @property
    def database_path(self) -> Path:
        return self.root / str(self.setting("database"))

    @property
    def database(self) -> str | Path:
        """Where the store is: a PostgreSQL URL, else the DuckDB file's path."""
        value = str(self.setting("database"))
        return value if is_database_url(value) else self.database_path

    @property
    def playbook_path(self) -> Path:
        return self.root / str(self.setting("playbook"))

    def playbook(self) -> Playbook:
        """The playbook in force; a playbook with errors raises and is never used."""
        return load_playbook(self.playbook_path)

    @cached_property
    def store(self) -> Store:
        return self.open_store()

    def open_store(self, migrate: bool = True) -> Store:
        """A new connection to the workspace's database (the server keeps one per writer);
        ``migrate=False`` for one more connection to a database another one already brought up to date."""
        store = open_store(
            self.database,
            memory_limit=str(self.setting("memory_limit")) or None,
            migrate=migrate,
            threads=int(self.setting("threads")) or None,
        )
        LifecycleStore(store)  # brings lead states up to date after an upgrade, before anything reads them
        return store

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
            del self.__dict__["store"]


def find_workspace(explicit: str | None, flags: dict[str, Any] | None = None) -> Workspace:
    """The workspace named by --workspace, LEADGATE_WORKSPACE or the current directory."""
    if explicit:
        root, how = Path(explicit), "--workspace"
    elif os.environ.get(WORKSPACE_ENV):
        root, how = Path(os.environ[WORKSPACE_ENV]), WORKSPACE_ENV
    else:
        root, how = Path.cwd(), "the current directory"
    if not (root / SETTINGS_FILE).is_file():
        raise WorkspaceError(
            f"no leadgate workspace at {root} ({how}): it has no {SETTINGS_FILE}; "
            "create one with 'leadgate init DIR', or pass --workspace DIR"
        )
    return Workspace(root.resolve(), flags or {})


def init_workspace(root: Path, force: bool = False) -> Workspace:
    """Create a workspace: settings, the example playbook, an empty database."""
    if (root / SETTINGS_FILE).exists() and not force:
        raise WorkspaceError(f"{root} is already a leadgate workspace (use --force to start it over)")
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    (root / SETTINGS_FILE).write_text(settings_file_text(), encoding="utf-8")
    workspace = Workspace(root.resolve())
    if force and not is_database_url(str(workspace.setting("database"))) and workspace.database_path.exists():
        workspace.database_path.unlink()
    workspace.playbook_path.write_text(example_playbook_text(), encoding="utf-8")
    workspace.store  # creates the database and its tables  # noqa: B018
    return workspace
