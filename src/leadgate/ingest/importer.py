"""Import a file into the store: all of it or (by default) nothing.

The file is streamed once. Good rows are staged in batches; bad rows are collected with
their line and reason. At the end, a file with bad rows is discarded whole unless
``skip_invalid`` is set, in which case the good rows go in and the bad ones are written to a
rejects file beside the input.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from leadgate.domain.traits import TraitType
from leadgate.errors import InputError, Issue
from leadgate.ingest import readers
from leadgate.ingest.rows import Row, RowProblem
from leadgate.ingest.segment import message_rows, parse_json_line
from leadgate.ingest.staging import buffer_rows, empty_buffers, stage_buffers
from leadgate.ingest.tables import ColumnMap, account_rows, flat_event_rows, lead_rows
from leadgate.store.base import BatchResult, Store

ImportKind = Literal["events", "leads", "accounts"]
STAGE_EVERY = 50_000
MAX_ISSUES_KEPT = 1_000


@dataclass
class ImportReport:
    """What an import read, added and refused."""

    file: str
    kind: ImportKind
    rows_read: int = 0
    rows_rejected: int = 0
    issues: list[Issue] = field(default_factory=list)
    batch: BatchResult | None = None
    rejects_file: str | None = None

    @property
    def facts_added(self) -> int:
        return self.batch.facts_added if self.batch else 0


@dataclass(frozen=True)
class ImportOptions:
    kind: ImportKind
    column_map: ColumnMap = field(default_factory=lambda: ColumnMap({}))
    skip_invalid: bool = False
    trait_types: Mapping[str, TraitType] = field(default_factory=dict)
    now: dt.datetime | None = None


def import_file(
    store: Store,
    path: Path,
    options: ImportOptions,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Stream ``path`` into the store (see the module docstring for the all-or-nothing rule)."""
    readers.check_readable(path)
    file_format = readers.detect_format(path)
    if options.kind != "events" and file_format == "jsonl":
        raise InputError(f"{path}: {options.kind} are imported from CSV or Parquet with a header")
    now = options.now or dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    parse = _row_parser(options, file_format, _file_digest(path), now)
    report = ImportReport(file=str(path), kind=options.kind)
    rejects: list[tuple[readers.Record, RowProblem]] = []
    buffers = empty_buffers()
    store.begin_batch()
    try:
        checked_columns = False
        for record in readers.read_records(path, file_format, progress):
            if not checked_columns and record.fields is not None:
                _check_columns(record.fields, options, str(path))
                checked_columns = True
            report.rows_read += 1
            try:
                rows = parse(record)
            except RowProblem as problem:
                report.rows_rejected += 1
                if len(report.issues) < MAX_ISSUES_KEPT:
                    report.issues.append(Issue(str(path), record.line, 0, problem.code, str(problem)))
                if options.skip_invalid:
                    rejects.append((record, problem))
                continue
            buffer_rows(buffers, rows, record.line)
            if sum(len(rows) for rows in buffers.values()) >= STAGE_EVERY:
                stage_buffers(store, buffers)
        if report.rows_rejected and not options.skip_invalid:
            plural = "s" if report.rows_rejected != 1 else ""
            raise InputError(
                f"{path}: {report.rows_rejected} bad row{plural} of {report.rows_read}; nothing was imported "
                "(fix them, or use --skip-invalid to import the good rows)",
                report.issues,
            )
        stage_buffers(store, buffers)
        # written before the commit: rows skipped must never be lost, so a rejects file that
        # cannot be written stops the import with nothing imported
        written = _write_rejects(path, file_format, rejects) if rejects else None
        try:
            report.batch = store.commit_batch(options.kind, str(path), report.rows_read, now)
        except BaseException:
            if written is not None:
                written.unlink(missing_ok=True)
            raise
    except BaseException:
        store.discard_batch()
        raise
    if written is not None:
        with contextlib.suppress(OSError):  # else the rows stay under the temporary name, which the report gives
            written = written.replace(_rejects_path(path))
        report.rejects_file = str(written)
    return report


def _row_parser(
    options: ImportOptions, file_format: str, digest: str, now: dt.datetime
) -> Callable[[readers.Record], list[Row]]:
    mapping = options.column_map

    def parse(record: readers.Record) -> list[Row]:
        if record.raw is not None:
            return message_rows(parse_json_line(record.raw), now)
        fields_ = mapping.apply(record.fields or {})
        if options.kind == "events":
            return flat_event_rows(fields_, now)
        if options.kind == "leads":
            return lead_rows(fields_, digest, now, options.trait_types)
        return account_rows(fields_, digest, now, options.trait_types)

    return parse


def _check_columns(columns: Mapping[str, Any], options: ImportOptions, file: str) -> None:
    required: tuple[str, ...] = {
        "events": ("message_id", "event", "timestamp"),
        "leads": ("lead_id",),
        "accounts": ("account_id",),
    }[options.kind]
    options.column_map.check_columns([name for name in columns if not name.startswith("__")], required, file)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rejects_path(path: Path) -> Path:
    return path.with_name(path.name + ".rejects.jsonl")


def _write_rejects(path: Path, file_format: str, rejects: list[tuple[readers.Record, RowProblem]]) -> Path:
    """The refused rows with their line and reason, as JSON lines in a file beside the input
    (under a temporary name, until the import is committed); an :class:`InputError` if it
    cannot be written there."""
    final = _rejects_path(path)
    target = final.with_name(final.name + ".part")
    if final.is_dir():
        raise InputError(f"{final}: the skipped rows cannot be written there (a folder); nothing was imported")
    try:
        with target.open("wb") as out:
            for record, problem in rejects:
                original: Any = record.fields
                if record.raw is not None:
                    original = record.raw.decode("utf-8", errors="replace").rstrip("\n")
                entry = {"line": record.line, "code": problem.code, "error": str(problem), "row": original}
                out.write(orjson.dumps(_without_private(entry), default=str) + b"\n")
    except OSError as exc:
        with contextlib.suppress(OSError):
            target.unlink()
        raise InputError(
            f"{final}: the skipped rows cannot be written there ({exc.strerror or exc}); nothing was imported"
        ) from None
    return target


def _without_private(entry: dict[str, Any]) -> dict[str, Any]:
    row = entry.get("row")
    if isinstance(row, dict):
        entry["row"] = {key: value for key, value in row.items() if not key.startswith("__")}
    return entry
