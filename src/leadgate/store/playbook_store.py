"""The history of the playbook in force: one row per publish or roll back, with the whole text.

Rows are only ever added. A roll back is a new row naming the version whose text is in force
again, so the history also says who went back, when, and from which version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from leadgate.store.base import Store

Action = Literal["initial", "edited", "publish", "rollback"]


@dataclass(frozen=True)
class VersionRecord:
    """One change of the playbook in force."""

    seq: int
    version: int
    name: str
    digest: str
    text: str
    published_at: dt.datetime
    published_by: str | None
    action: str  # an Action: initial, edited (a hand edit found in force), publish, rollback
    replaced_version: int | None
    replaced_digest: str | None


_COLUMNS = "seq, version, name, digest, text, published_at, published_by, action, replaced_version, replaced_digest"


class PlaybookStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(
        self,
        version: int,
        name: str,
        digest: str,
        text: str,
        at: dt.datetime,
        by: str | None,
        action: Action,
        replaced_version: int | None,
        replaced_digest: str | None,
    ) -> VersionRecord:
        """Append a row after the last one; it says what is in force from ``at``."""
        found = self.store._one("SELECT coalesce(max(seq), 0) + 1 FROM playbook_versions")
        seq = int(found[0]) if found else 1
        record = VersionRecord(seq, version, name, digest, text, at, by, action, replaced_version, replaced_digest)
        self.store._run(
            f"INSERT INTO playbook_versions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                record.seq,
                record.version,
                record.name,
                record.digest,
                record.text,
                record.published_at,
                record.published_by,
                record.action,
                record.replaced_version,
                record.replaced_digest,
            ],
        )
        return record

    def history(self) -> list[VersionRecord]:
        """Every row, oldest first."""
        return [
            VersionRecord(*row) for row in self.store._run(f"SELECT {_COLUMNS} FROM playbook_versions ORDER BY seq")
        ]

    def latest(self) -> VersionRecord | None:
        row = self.store._one(f"SELECT {_COLUMNS} FROM playbook_versions ORDER BY seq DESC LIMIT 1")
        return VersionRecord(*row) if row else None

    def published(self, version: int) -> VersionRecord | None:
        """The row that first brought ``version`` in (its publish, or the initial file)."""
        row = self.store._one(
            f"SELECT {_COLUMNS} FROM playbook_versions WHERE version = ? AND action <> 'rollback' ORDER BY seq LIMIT 1",
            [version],
        )
        return VersionRecord(*row) if row else None

    def top_version(self) -> int | None:
        """The highest version number ever recorded (None: nothing yet)."""
        row = self.store._one("SELECT max(version) FROM playbook_versions")
        return int(row[0]) if row and row[0] is not None else None
