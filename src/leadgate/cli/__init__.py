"""The ``leadgate`` command. Each sub-module adds one family of commands to :data:`app`.

A user mistake (a :class:`~leadgate.errors.UserError`) prints one red line (plus the list of
issues for a bad playbook or a bad file) and exits with status 2, never a traceback.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from typing import NoReturn

from leadgate.cli import output
from leadgate.cli.app import app
from leadgate.errors import InputError, Issue, NotFound, PlaybookInvalid, StoreError, UserError

# Importing the command modules registers their commands, in this order, in --help.
# isort: off
from leadgate.cli import workspace_commands, scoring_commands, lifecycle_commands  # noqa: F401
from leadgate.cli import reps_commands, imports, playbook_commands, service_commands  # noqa: F401
from leadgate.cli import webhooks_commands, db_commands  # noqa: F401
from leadgate.cli import tuning_commands  # noqa: F401
from leadgate.cli import predict_commands  # noqa: F401
from leadgate.cli import model_commands  # noqa: F401
from leadgate.cli import report_commands  # noqa: F401
from leadgate.cli import users_commands  # noqa: F401
from leadgate.cli import team_commands  # noqa: F401
# isort: on

MAX_ISSUES_SHOWN = 20


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``leadgate`` console script. With ``--json``, an error is also printed
    on standard output as ``{"error": {"message", "status", "issues"}}``, for scripts."""
    as_json = "--json" in (sys.argv[1:] if argv is None else argv)
    try:
        app(args=argv, prog_name="leadgate")
    except PlaybookInvalid as exc:
        for issue in exc.issues:
            output.errors.print(str(issue), highlight=False, markup=False, soft_wrap=True)
        _fail(str(exc), 2, exc.issues, as_json)
    except InputError as exc:
        for issue in exc.issues[:MAX_ISSUES_SHOWN]:
            output.errors.print(str(issue), highlight=False, markup=False, soft_wrap=True)
        if len(exc.issues) > MAX_ISSUES_SHOWN:
            output.errors.print(f"... and more (the first {MAX_ISSUES_SHOWN} are shown)")
        _fail(str(exc), 2, exc.issues, as_json)
    except NotFound as exc:
        _fail(f"{exc} (see '{exc.listed_by}')" if exc.listed_by else str(exc), 2, [], as_json)
    except UserError as exc:
        _fail(str(exc), 2, [], as_json)
    except StoreError as exc:
        _fail(f"the database failed: {exc}", 3, [], as_json)
    except OSError as exc:  # a path given that cannot be read or written (a missing folder, a folder, no permission)
        if exc.filename is None:
            raise
        _fail(f"{exc.filename}: {exc.strerror or exc}", 2, [], as_json)


def _fail(message: str, status: int, issues: list[Issue], as_json: bool) -> NoReturn:
    """Say what went wrong (and, with --json, say it as JSON on standard output too), then exit."""
    output.fail(message)
    if as_json:
        output.print_json({"error": {"message": message, "status": status, "issues": [asdict(i) for i in issues]}})
    sys.exit(status)


__all__ = ["app", "main"]
