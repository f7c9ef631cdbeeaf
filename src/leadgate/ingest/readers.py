"""Streaming readers: one record at a time with its line number, whatever the file's size.

JSON lines (optionally gzipped), CSV with a header, and Parquet. Each reader reports how far
it got (bytes or rows) so that a progress bar can follow a file larger than memory.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from leadgate.errors import InputError, NotFound

Progress = Callable[[int], None]
FORMATS = ("jsonl", "csv", "parquet")


@dataclass(frozen=True)
class Record:
    """One input record: its line (or row) number, and its fields or its raw JSON line."""

    line: int
    fields: dict[str, Any] | None = None
    raw: bytes | None = None


def detect_format(path: Path) -> str:
    """``jsonl``, ``csv`` or ``parquet`` from the file name."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    raise InputError(f"{path}: cannot tell the format from the name; use .jsonl, .csv or .parquet")


def total_size(path: Path, file_format: str) -> int:
    """What the progress counts up to: bytes for text files, rows for Parquet."""
    if file_format == "parquet":
        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except pa.ArrowException as exc:
            raise _not_parquet(path, exc) from None
    return path.stat().st_size


def check_readable(path: Path) -> None:
    if not path.exists():
        raise NotFound(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")


def read_records(path: Path, file_format: str, progress: Progress | None = None) -> Iterator[Record]:
    """Every record of a file, streamed; a file that is not what its name says is an :class:`InputError`."""
    readers = {"jsonl": _json_lines, "csv": _csv_rows, "parquet": _parquet_rows}
    try:
        yield from readers[file_format](path, progress)
    except gzip.BadGzipFile:
        raise InputError(f"{path}: the name ends in .gz but the file is not gzip data") from None
    except (EOFError, zlib.error) as exc:
        raise InputError(f"{path}: the gzip data is damaged or cut short ({exc})") from None
    except pa.ArrowException as exc:
        raise _not_parquet(path, exc) from None


def _not_parquet(path: Path, exc: Exception) -> InputError:
    return InputError(f"{path}: not a Parquet file that can be read ({exc})")


class _CountingReader(io.RawIOBase):
    """Counts the bytes read from the underlying file, for progress."""

    def __init__(self, raw: IO[bytes], progress: Progress | None) -> None:
        self.raw = raw
        self.progress = progress

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()
        super().close()

    def readinto(self, buffer: Any) -> int:
        count = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        if self.progress and count:
            self.progress(count)
        return count or 0


@contextlib.contextmanager
def _open_binary(path: Path, progress: Progress | None) -> Iterator[IO[bytes]]:
    """The file's bytes (unzipped if its name ends in .gz), the file closed whatever happens."""
    with io.BufferedReader(_CountingReader(path.open("rb"), progress), buffer_size=1 << 20) as counted:
        if not path.name.lower().endswith(".gz"):
            yield counted
            return
        with gzip.GzipFile(fileobj=counted) as unzipped:
            yield unzipped  # type: ignore[misc]  # a GzipFile reads as IO[bytes]


def _json_lines(path: Path, progress: Progress | None) -> Iterator[Record]:
    with _open_binary(path, progress) as stream:
        for number, line in enumerate(stream, start=1):
            if line.strip():
                yield Record(number, raw=line)


def _csv_rows(path: Path, progress: Progress | None) -> Iterator[Record]:
    with _open_binary(path, progress) as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(f"{path}: the file is empty; a CSV file starts with its header") from None
        except UnicodeDecodeError:
            raise InputError(f"{path}: the file is not UTF-8 text") from None
        header = [name.strip() for name in header]
        duplicated = sorted({name for name in header if header.count(name) > 1})
        if duplicated:
            raise InputError(f"{path}:1: the header repeats the column(s) {', '.join(duplicated)}")
        try:
            for values in reader:
                if not any(value.strip() for value in values):
                    continue
                fields: dict[str, Any] = dict(zip(header, values, strict=False))
                if len(values) != len(header):
                    fields["__width__"] = (len(values), len(header))
                yield Record(reader.line_num, fields=fields)
        except UnicodeDecodeError:
            raise InputError(f"{path}:{reader.line_num + 1}: the file is not UTF-8 text") from None
        except csv.Error as exc:
            raise InputError(f"{path}:{reader.line_num}: this is not valid CSV ({exc})") from None


def _parquet_rows(path: Path, progress: Progress | None) -> Iterator[Record]:
    parquet = pq.ParquetFile(path)
    number = 0
    for batch in parquet.iter_batches(batch_size=50_000):
        for fields in batch.to_pylist():
            number += 1
            yield Record(number, fields=fields)
        if progress:
            progress(batch.num_rows)
