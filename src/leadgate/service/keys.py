"""API keys and what each role may do.

A key is ``lg_<id>_<secret>``: the id names it in lists and logs, the whole key is shown once
and only its SHA-256 is stored. A key carries a role and, for sales and managers, the rep it
acts as; the teams it sees come from the playbook in force (the teams the rep belongs to, or
manages), unless the key was made for one team.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal, get_args

from leadgate.errors import Forbidden, NotFound, UserError
from leadgate.lifecycle.decisions import known_reps
from leadgate.playbook.model import PlaybookModel
from leadgate.store.base import Store
from leadgate.store.keys_store import KeyRecord, KeysStore

Role = Literal["ingest", "sales", "manager", "marketing", "admin"]
ROLES: tuple[str, ...] = get_args(Role)

ROLE_HELP = {
    "ingest": "send events (the Segment endpoints) and nothing else",
    "sales": "read their own and their team's leads and queue; accept, reject, qualify, disqualify them",
    "manager": "read and decide on the leads of the teams they manage; see those teams' queues",
    "marketing": "read leads, the playbook and its versions; validate, publish and roll back the playbook",
    "admin": "everything but decisions: keys, people erasure, the playbook, webhooks",
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: a live key, with the teams its role sees (None: every team)."""

    key_id: str
    role: str
    user: str | None
    teams: frozenset[str] | None

    def require(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"a key with the role {self.role} cannot do this; it needs the role {' or '.join(roles)}")

    def sees_team(self, team: str | None) -> bool:
        return self.teams is None or (team is not None and team in self.teams)

    def require_lead(self, owner: str | None, team: str | None, lead_id: str) -> None:
        """Refuse a lead outside the key's reach: a rep's own leads and their teams' leads."""
        if self.teams is None or (self.user is not None and owner == self.user) or self.sees_team(team):
            return
        raise Forbidden(f"lead {lead_id} belongs to {team or 'no team'}; this key sees {', '.join(sorted(self.teams))}")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    store: Store, playbook: PlaybookModel, role: str, user: str | None, team: str | None, now: dt.datetime
) -> tuple[str, KeyRecord]:
    """A new key (shown once) and its record; sales and manager keys name a rep of the playbook."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if role in ("sales", "manager") and not user:
        raise UserError(f"a {role} key acts as a rep: give --user NAME (a rep of the playbook's teams)")
    check_reach(playbook, role, user, team, "keys")
    key_id = secrets.token_hex(4)
    key = f"lg_{key_id}_{secrets.token_urlsafe(24)}"
    record = KeyRecord(key_id, role, user, team, now)
    KeysStore(store).add(record, hash_key(key))
    return key, record


def check_reach(playbook: PlaybookModel, role: str, rep: str | None, team: str | None, what: str) -> None:
    """A sales or manager key or user acts as a rep of the playbook's teams (``--team``: one of
    theirs); other roles see every team. ``what``: keys or users, for the message."""
    if role in ("sales", "manager"):
        reach = teams_for(playbook, role, rep, None)
        if not reach:
            found = "manages no team" if role == "manager" else "is in no team"
            raise UserError(f"{rep!r} {found} of the playbook (teams: {', '.join(playbook.teams) or 'none'})")
        if team is not None and team not in reach:
            raise UserError(f"{rep!r} is not in team {team!r} (their teams: {', '.join(sorted(reach))})")
    elif team is not None:
        raise UserError(f"--team only applies to sales and manager {what}, not {role}")


def teams_for(playbook: PlaybookModel, role: str, user: str | None, team: str | None) -> frozenset[str] | None:
    """The teams a key sees: every team (None) for marketing and admin."""
    if role not in ("sales", "manager"):
        return None
    if team is not None:
        return frozenset([team])
    if role == "manager":
        return frozenset(name for name, found in playbook.teams.items() if found.manager == user)
    return frozenset(known_reps(playbook).get(user or "", set()))


def principal_of(record: KeyRecord, playbook: PlaybookModel) -> Principal:
    return Principal(
        record.key_id, record.role, record.user_name, teams_for(playbook, record.role, record.user_name, record.team)
    )


def revoke_key(store: Store, key_id: str, now: dt.datetime) -> None:
    if not KeysStore(store).revoke(key_id, now):
        raise NotFound(f"no live key with the id {key_id!r}", listed_by="leadgate keys list")
