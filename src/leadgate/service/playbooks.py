"""Publishing the playbook: new versions, roll backs, and the history behind them.

The workspace file (setting ``playbook``) is what is in force: every command and the server
read it. Publishing and rolling back change that file and add a row to ``playbook_versions``
in one step, so the history always says which text was in force from when, and who put it
there. A text is validated before anything changes (a bad playbook changes nothing), and the
file is replaced atomically (a reader sees the old text or the new one, never half of each).

Version numbers only go up: a publish must carry a ``version:`` above every recorded one, so
a version number names one text for good. A roll back puts an earlier text in force again; its
number is the earlier one, and the facts recorded from then on say so.

The file found in force before the first publish (or after a hand edit) is recorded first, as
``initial`` (or ``edited``), so one can always roll back to it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from leadgate.domain.times import UtcTime
from leadgate.errors import LeadgateError, NotFound, StoreError, UserError
from leadgate.lifecycle.decisions import Conflict
from leadgate.playbook.compiled import Playbook
from leadgate.playbook.diff import Change, diff_playbooks
from leadgate.playbook.loader import load_playbook, parse_playbook
from leadgate.store.base import Store
from leadgate.store.playbook_store import Action, PlaybookStore, VersionRecord

MAX_VERSION = 2**53 - 1  # the largest whole number a JSON client reads exactly (the store takes 2**63 - 1)


class VersionInfo(BaseModel):
    """One row of the history, without its text (the CLI's and the API's listing)."""

    seq: int = Field(description="The order of the history: 1 is the first row")
    version: int
    name: str
    digest: str = Field(description="A fingerprint of the text (12 hex digits of its SHA-256)")
    action: str = Field(description="publish, rollback, or initial/edited: the file found in force, recorded")
    published_at: UtcTime
    published_by: str | None
    replaced_version: int | None = Field(description="The version in force before this row")
    replaced_digest: str | None
    in_force: bool = Field(False, description="Whether this row's text is the playbook in force now")

    @classmethod
    def of(cls, record: VersionRecord, in_force: bool = False) -> VersionInfo:
        fields = {name: getattr(record, name) for name in cls.model_fields if name != "in_force"}
        return cls(**fields, in_force=in_force)


class PublishReport(BaseModel):
    """What a publish or a roll back did (the CLI's and the API's answer)."""

    version: VersionInfo = Field(description="The new row of the history")
    changes: list[Change] = Field(description="What changed against the playbook in force before")


@dataclass(frozen=True)
class Published:
    """What a publish or a roll back did: its history row and what changed against the text before."""

    record: VersionRecord
    changes: list[Change] = field(default_factory=list)

    def report(self) -> PublishReport:
        return PublishReport(version=VersionInfo.of(self.record, in_force=True), changes=self.changes)


@dataclass(frozen=True)
class InForce:
    """The playbook in force and the history row that put it there (None: a hand edit that reused a version number)."""

    playbook: Playbook
    record: VersionRecord | None


class PlaybookVersions:
    """The playbook file of a workspace and its history in the workspace's store."""

    def __init__(self, store: Store, path: Path) -> None:
        self.store = store
        self.history = PlaybookStore(store)
        self.path = path

    # -- reading ---------------------------------------------------------------------------
    def in_force(self, now: dt.datetime, playbook: Playbook | None = None) -> InForce:
        """The playbook in force (read from the file unless given) and the row that put it there."""
        playbook = playbook or load_playbook(self.path)
        self._record_file_in_force_now(now)
        latest = self.history.latest()
        return InForce(playbook, latest if latest and latest.digest == playbook.digest else None)

    def versions(self, now: dt.datetime) -> list[VersionRecord]:
        """The whole history, oldest first (the file in force is recorded first if it is not yet)."""
        self._record_file_in_force_now(now)
        return self.history.history()

    def listing(self, now: dt.datetime) -> list[VersionInfo]:
        """The history, each row marked whether it is the one in force (the latest, if the file still has its text)."""
        records = self.versions(now)
        current = text_digest(self.path.read_text(encoding="utf-8")) if self.path.exists() else None
        live = records[-1].seq if records and records[-1].digest == current else None
        return [VersionInfo.of(record, record.seq == live) for record in records]

    def text_of(self, version: int, now: dt.datetime) -> str:
        """The text published as ``version``."""
        return self.record_of(version, now).text

    def record_of(self, version: int, now: dt.datetime) -> VersionRecord:
        """The row that published ``version`` (the file in force is recorded first if it is not yet)."""
        self._record_file_in_force_now(now)
        return self._published(version)

    def diff(self, old_version: int, new_version: int | None, now: dt.datetime) -> list[Change]:
        """What changed from one published version to another (None: to the playbook in force)."""
        old = parse_playbook(self.text_of(old_version, now), f"version {old_version}")
        if new_version is None:
            return diff_playbooks(old, load_playbook(self.path))
        return diff_playbooks(old, parse_playbook(self.text_of(new_version, now), f"version {new_version}"))

    # -- changing --------------------------------------------------------------------------
    def publish(self, text: str, actor: str | None, now: dt.datetime, filename: str | None = None) -> Published:
        """Validate ``text``, check its version number, then make it the playbook in force.

        A bad playbook raises :class:`PlaybookInvalid` with every issue at its line
        (``filename`` names the text in them), and a version number that is not above every
        recorded one raises :class:`Conflict`; in both cases nothing changes.
        """
        # line ends as reading the file gives them back, so the text in force has the digest recorded
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        playbook = parse_playbook(text, filename or self.path.name)
        if playbook.version > MAX_VERSION:
            raise UserError(f"version {playbook.version} is too large: the highest version number is {MAX_VERSION}")
        with self._changing():
            self._record_file_in_force(now)
            top = self.history.top_version()
            if top is not None and playbook.version <= top:
                raise Conflict(
                    f"version {playbook.version} is not above the published versions (the highest is {top}): "
                    f"set 'version: {top + 1}' or higher in the playbook; to go back to an earlier version, "
                    "roll back to it instead"
                )
            return self._put_in_force(playbook, "publish", actor, now)

    def rollback(self, version: int, actor: str | None, now: dt.datetime) -> Published:
        """Put the text published as ``version`` in force again; the history says it is a roll back."""
        with self._changing():
            self._record_file_in_force(now)
            target = self._published(version)
            current = self._file_playbook()
            if current is not None and current.digest == target.digest:
                raise Conflict(f"version {version} is already the playbook in force")
            playbook = parse_playbook(target.text, f"version {version}")
            return self._put_in_force(playbook, "rollback", actor, now)

    # -- inside ----------------------------------------------------------------------------
    @contextmanager
    def _changing(self) -> Iterator[None]:
        """The store's transaction; if it fails to commit after the file was replaced, the old file comes back."""
        before = self.path.read_text(encoding="utf-8") if self.path.exists() else None
        try:
            with self.store.transaction():
                yield
        except StoreError:
            if before is not None and self.path.read_text(encoding="utf-8") != before:
                write_atomically(self.path, before)
            raise

    def _published(self, version: int) -> VersionRecord:
        found = self.history.published(version)
        if found is None:
            known = sorted({record.version for record in self.history.history()})
            listed = ", ".join(map(str, known)) or "none"
            raise NotFound(f"no published playbook version {version} (published versions: {listed})")
        return found

    def _file_playbook(self) -> Playbook | None:
        """The playbook of the file in force; None when it is missing or has errors."""
        try:
            return load_playbook(self.path)
        except LeadgateError:
            return None

    def _record_file_in_force_now(self, now: dt.datetime) -> None:
        with self.store.transaction():
            self._record_file_in_force(now)

    def _record_file_in_force(self, now: dt.datetime) -> None:
        """Record the file in force if the history does not have its text (so one can roll back to it).

        A hand-edited file that reuses a recorded version number is not recorded: a version
        number names one text.
        """
        latest = self.history.latest()
        if (
            latest is not None
            and self.path.exists()
            and latest.digest == text_digest(self.path.read_text(encoding="utf-8"))
        ):
            return  # the usual case, told without parsing the file (reads hold the server's store lock)
        playbook = self._file_playbook()
        if playbook is None or self.history.published(playbook.version) is not None:
            return
        modified = dt.datetime.fromtimestamp(self.path.stat().st_mtime, dt.UTC).replace(tzinfo=None, microsecond=0)
        self.history.add(
            playbook.version,
            playbook.name,
            playbook.digest,
            playbook.source,
            min(modified, now),
            None,
            "initial" if latest is None else "edited",
            latest.version if latest else None,
            latest.digest if latest else None,
        )

    def _put_in_force(self, playbook: Playbook, action: Action, actor: str | None, now: dt.datetime) -> Published:
        """Add the history row and replace the file; called inside the store's transaction."""
        before = self._file_playbook()
        record = self.history.add(
            playbook.version,
            playbook.name,
            playbook.digest,
            playbook.source,
            now,
            actor,
            action,
            before.version if before else None,
            before.digest if before else None,
        )
        write_atomically(self.path, playbook.source)
        return Published(record, diff_playbooks(before, playbook) if before else [])


def text_digest(text: str) -> str:
    """The fingerprint :attr:`Playbook.digest` gives the same text, without parsing it."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once: a reader sees the old file or the new one, never a mix."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise UserError(f"cannot write the playbook file {path.name}: {exc.strerror or exc}") from exc
