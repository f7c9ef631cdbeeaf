"""The web app's users: who may sign in, with which role, and their sessions.

A user has the roles of API keys (:mod:`leadgate.service.keys`) and the same reach: a sales or
manager user is a rep of the playbook (their name is the rep's name) and sees their own leads and
their teams' leads. Passwords are stored as argon2 hashes. A session is a random cookie whose
SHA-256 is stored with the session's CSRF token; signing out or disabling the user ends it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from leadgate.errors import NotAuthenticated, NotFound, UserError
from leadgate.playbook.model import PlaybookModel
from leadgate.service.keys import ROLES, Principal, check_reach, teams_for
from leadgate.store.base import Store
from leadgate.store.users_store import UserRecord, UsersStore

MIN_PASSWORD_LENGTH = 8
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
BAD_SIGN_IN = "unknown user name or wrong password"

_hasher = PasswordHasher()


@dataclass(frozen=True)
class Viewer:
    """A signed-in user: their name, what they may do (a :class:`Principal`) and their form token."""

    name: str
    principal: Principal
    csrf_token: str

    @property
    def role(self) -> str:
        return self.principal.role


def create_user(
    store: Store, playbook: PlaybookModel, name: str, role: str, team: str | None, password: str, now: dt.datetime
) -> UserRecord:
    """A new user; sales and manager users must be reps of the playbook (their name is the rep's)."""
    if not USER_NAME.match(name):
        raise UserError(f"user name {name!r}: letters, digits and . _ @ - only, starting with a letter or digit")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if role == "ingest":
        raise UserError(
            "the ingest role is for API keys that send events; a person signs in as sales, manager, marketing or admin"
        )
    check_password(password)
    check_reach(playbook, role, name, team, "users")
    users = UsersStore(store)
    if users.by_name(name) is not None:
        raise UserError(f"a user named {name!r} exists; 'leadgate users password {name}' changes their password")
    record = UserRecord(name, role, team, now)
    users.add(record, _hasher.hash(password))
    return record


def change_password(store: Store, name: str, password: str) -> None:
    check_password(password)
    users = UsersStore(store)
    if users.by_name(name) is None:
        raise NotFound(f"no user named {name!r}", listed_by="leadgate users list")
    users.set_password_hash(name, _hasher.hash(password))


def disable_user(store: Store, name: str, now: dt.datetime) -> None:
    users = UsersStore(store)
    if users.by_name(name) is None:
        raise NotFound(f"no user named {name!r}", listed_by="leadgate users list")
    users.disable(name, now)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def sign_in(store: Store, name: str, password: str, now: dt.datetime, hours: float) -> str:
    """Check a password and open a session; the session's cookie value (shown once)."""
    found = UsersStore(store).by_name(name)
    if found is None:
        _hasher.hash(password)  # as slow as a real check: the answer's timing does not say who exists
        raise NotAuthenticated(BAD_SIGN_IN)
    record, password_hash = found
    try:
        _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        raise NotAuthenticated(BAD_SIGN_IN) from None
    cookie = secrets.token_urlsafe(32)
    users = UsersStore(store)
    users.forget_old_sessions(now - dt.timedelta(days=7))
    users.add_session(
        session_hash(cookie), record.user_name, secrets.token_urlsafe(24), now, now + dt.timedelta(hours=hours)
    )
    return cookie


def viewer_of(store: Store, playbook: PlaybookModel, cookie: str, now: dt.datetime) -> Viewer | None:
    """The signed-in user behind a session cookie (None: no live session)."""
    session = UsersStore(store).session(session_hash(cookie), now)
    if session is None:
        return None
    rep = session.user_name if session.role in ("sales", "manager") else None
    principal = Principal(
        f"user:{session.user_name}", session.role, rep, teams_for(playbook, session.role, rep, session.team)
    )
    return Viewer(session.user_name, principal, session.csrf_token)


def sign_out(store: Store, cookie: str, now: dt.datetime) -> None:
    UsersStore(store).end_session(session_hash(cookie), now)


def session_hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()
