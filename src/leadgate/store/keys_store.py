"""The HTTP service's API keys: stored as SHA-256 hashes, never as the keys themselves."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from leadgate.store.base import Store


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    role: str
    user_name: str | None
    team: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None


_COLUMNS = "key_id, role, user_name, team, created_at, revoked_at"


class KeysStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, record: KeyRecord, key_hash: str) -> None:
        self.store._run(
            "INSERT INTO api_keys (key_id, key_hash, role, user_name, team, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [record.key_id, key_hash, record.role, record.user_name, record.team, record.created_at],
        )

    def by_hash(self, key_hash: str) -> KeyRecord | None:
        """The live key with this hash (None: unknown or revoked)."""
        row = self.store._one(f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", [key_hash])
        return KeyRecord(*row) if row else None

    def all(self) -> list[KeyRecord]:
        return [KeyRecord(*row) for row in self.store._run(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at")]

    def revoke(self, key_id: str, at: dt.datetime) -> bool:
        """Revoke a live key; False when there is none with this id."""
        found = self.store._one("SELECT count(*) FROM api_keys WHERE key_id = ? AND revoked_at IS NULL", [key_id])
        if not found or not found[0]:
            return False
        self.store._run("UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", [at, key_id])
        return True
