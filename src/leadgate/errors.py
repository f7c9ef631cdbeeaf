"""leadgate's one exception hierarchy.

::

    LeadgateError                 anything leadgate raises on purpose
    ├── UserError                 the user can fix it; the CLI prints one red line, exits 2
    │   ├── WorkspaceError        no workspace, or a broken one
    │   ├── PlaybookInvalid       a playbook failed validation (carries every issue)
    │   ├── InputError            an import file or a request has bad rows (carries them)
    │   │   └── TooLarge          a request over the size limits (Segment's: 32 KB a message, 500 KB a batch)
    │   ├── NotFound              a lead, a file or a version that does not exist
    │   ├── SettingError          a setting with a bad value
    │   ├── NotAuthenticated      no API key, or one leadgate does not know (HTTP 401)
    │   └── Forbidden             a key whose role or team does not allow the request (HTTP 403)
    └── StoreError                the database failed (driver errors are translated here)

Driver exceptions are translated where they happen (``raise StoreError(...) from exc``), so
code above the store never sees a DuckDB or Spark exception.
"""

from __future__ import annotations

from dataclasses import dataclass


class LeadgateError(Exception):
    """Base of every error leadgate raises on purpose."""


class UserError(LeadgateError):
    """A mistake the user can fix; shown as one line, never as a traceback."""


class WorkspaceError(UserError):
    """No workspace where one was expected, or a workspace that cannot be used."""


class NotFound(UserError):
    """Something named by the user does not exist. ``listed_by``: the command that lists what
    does, which the command line adds to the message (an API answer names no command)."""

    def __init__(self, message: str, listed_by: str | None = None) -> None:
        super().__init__(message)
        self.listed_by = listed_by


class SettingError(UserError):
    """A setting has a value leadgate cannot use."""


class NotAuthenticated(UserError):
    """A request without a valid API key."""


class Forbidden(UserError):
    """A valid key whose role, or whose team, does not allow what it asked for."""


@dataclass(frozen=True)
class Issue:
    """One problem at one place of one file: ``file:line:column: CODE message``."""

    file: str
    line: int
    column: int
    code: str
    message: str

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}:{self.column}" if self.column else f"{self.file}:{self.line}"
        return f"{place}: {self.code} {self.message}"


class PlaybookInvalid(UserError):
    """A playbook with errors; ``issues`` lists all of them, in file order."""

    def __init__(self, path: str, issues: list[Issue]) -> None:
        self.path = path
        self.issues = issues
        plural = "s" if len(issues) != 1 else ""
        super().__init__(f"{path}: the playbook has {len(issues)} error{plural}; it was not used")


class InputError(UserError):
    """Input that cannot be taken as it is; ``issues`` says where and why."""

    def __init__(self, message: str, issues: list[Issue] | None = None) -> None:
        self.issues = issues or []
        super().__init__(message)


class TooLarge(InputError):
    """A request body or a message over its size limit."""


class StoreError(LeadgateError):
    """The database refused or failed an operation."""
