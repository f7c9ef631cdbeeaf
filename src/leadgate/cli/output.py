"""How the CLI talks: Rich tables for people, JSON for scripts, one red line for mistakes."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from pydantic import BaseModel
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

console = Console()
errors = Console(stderr=True)


def print_json(value: Any) -> None:
    """Write a value as JSON on stdout (pydantic models through their schema)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
        value = [item.model_dump(mode="json") for item in value]
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=_default).decode() + "\n")


def _default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def fail(message: str) -> None:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)


@contextmanager
def byte_progress(description: str, total: int, enabled: bool = True) -> Iterator[Any]:
    """A progress bar over bytes (or rows) read; yields a function to advance it."""
    if not (enabled and errors.is_terminal):
        yield lambda count: None
        return
    columns = [TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=errors, transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda count: progress.advance(task, count)


@contextmanager
def spinner(description: str, enabled: bool = True) -> Iterator[None]:
    """A spinner with the elapsed time, for one long step of unknown length."""
    if not (enabled and errors.is_terminal):
        yield
        return
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=errors, transient=True
    ) as progress:
        progress.add_task(description, total=None)
        yield


@contextmanager
def step_progress(description: str, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A progress bar over counted steps (folds, checkpoints): yields ``advance(done, total)``."""
    if not (enabled and errors.is_terminal):
        yield lambda done, total: None
        return
    columns = [TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=errors, transient=True) as progress:
        task = progress.add_task(description, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


def number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    rounded = round(float(value), digits)
    return f"{0.0 if rounded == 0 else rounded:,.{digits}f}"
