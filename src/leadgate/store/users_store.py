"""The web app's users and sign-ins: argon2 password hashes and SHA-256 session hashes, never a secret."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from leadgate.store.base import Store


@dataclass(frozen=True)
class UserRecord:
    user_name: str
    role: str
    team: str | None
    created_at: dt.datetime
    disabled_at: dt.datetime | None = None


@dataclass(frozen=True)
class SessionRecord:
    user_name: str
    role: str
    team: str | None
    csrf_token: str
    expires_at: dt.datetime


_USER_COLUMNS = "user_name, role, team, created_at, disabled_at"


class UsersStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, record: UserRecord, password_hash: str) -> None:
        self.store._run(
            "INSERT INTO users (user_name, password_hash, role, team, created_at) VALUES (?, ?, ?, ?, ?)",
            [record.user_name, password_hash, record.role, record.team, record.created_at],
        )

    def by_name(self, user_name: str) -> tuple[UserRecord, str] | None:
        """The live user with this name and their password hash (None: unknown or disabled)."""
        row = self.store._one(
            f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE user_name = ? AND disabled_at IS NULL",
            [user_name],
        )
        return (UserRecord(*row[:5]), row[5]) if row else None

    def all(self) -> list[UserRecord]:
        return [UserRecord(*row) for row in self.store._run(f"SELECT {_USER_COLUMNS} FROM users ORDER BY user_name")]

    def set_password_hash(self, user_name: str, password_hash: str) -> None:
        self.store._run("UPDATE users SET password_hash = ? WHERE user_name = ?", [password_hash, user_name])

    def disable(self, user_name: str, at: dt.datetime) -> None:
        self.store._run("UPDATE users SET disabled_at = ? WHERE user_name = ?", [at, user_name])
        self.store._run(
            "UPDATE web_sessions SET ended_at = ? WHERE user_name = ? AND ended_at IS NULL", [at, user_name]
        )

    # -- sessions ----------------------------------------------------------------------------
    def add_session(
        self, session_hash: str, user_name: str, csrf_token: str, at: dt.datetime, expires_at: dt.datetime
    ) -> None:
        self.store._run(
            "INSERT INTO web_sessions (session_hash, user_name, csrf_token, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [session_hash, user_name, csrf_token, at, expires_at],
        )

    def session(self, session_hash: str, now: dt.datetime) -> SessionRecord | None:
        """A live session, with its user's role and team: not ended, not expired, of a user who is not disabled."""
        row = self.store._one(
            "SELECT s.user_name, u.role, u.team, s.csrf_token, s.expires_at FROM web_sessions s "
            "JOIN users u ON u.user_name = s.user_name AND u.disabled_at IS NULL "
            "WHERE s.session_hash = ? AND s.ended_at IS NULL AND s.expires_at > ?",
            [session_hash, now],
        )
        return SessionRecord(*row) if row else None

    def end_session(self, session_hash: str, at: dt.datetime) -> None:
        self.store._run("UPDATE web_sessions SET ended_at = ? WHERE session_hash = ?", [at, session_hash])

    def forget_old_sessions(self, before: dt.datetime) -> None:
        """Sessions that expired or ended before ``before`` are no use to anyone."""
        self.store._run(
            "DELETE FROM web_sessions WHERE expires_at < ? OR (ended_at IS NOT NULL AND ended_at < ?)", [before, before]
        )
