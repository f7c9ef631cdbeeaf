"""A lead's buying group: which of the playbook's buying roles its account has engaged, and who.

The scoring engine only keeps the count (``account_coverage``); a salesperson needs the names:
who is the decision maker, which role nobody fills yet. This reads the account's contacts from
the latest scores (``lead_scores``, what the queue shows too: scoring them again as of now would
cost the lead page as much as its explanation), their traits the roles test, and evaluates each
role's condition and ``engaged_when`` per contact with the engine's condition compiler.

Like :class:`~leadgate.service.explain.PreparedExplanation`, the query reads the account and the
moment from a one-row table registered for the call: it is compiled once per playbook.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis.expr.types as ir
import pyarrow as pa

from leadgate.playbook.compiled import Playbook
from leadgate.playbook.conditions import ast
from leadgate.scoring.conditions import ConditionCompiler
from leadgate.scoring.engine import LEAD_PREFIX, left_join, resolver, used_traits
from leadgate.scoring.moment import moment_parameter, moment_row
from leadgate.scoring.snapshots import trait_snapshot
from leadgate.service.scoring import SCORES_TABLE
from leadgate.store.base import Store

PARAMETERS_TABLE = "buying_group_parameters"  # the lead and the moment (one row)


@dataclass(frozen=True)
class BuyingRole:
    """One role of the playbook's buying group: the contacts who fill it and are engaged, and
    those who would fill it but are not engaged yet."""

    name: str
    condition: str
    engaged: tuple[str, ...]
    not_engaged: tuple[str, ...]

    @property
    def present(self) -> bool:
        return bool(self.engaged)


@dataclass(frozen=True)
class BuyingGroup:
    account_id: str
    contacts: int
    engaged_when: str
    roles: tuple[BuyingRole, ...]

    @property
    def coverage(self) -> int:
        return sum(1 for role in self.roles if role.present)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(role.name for role in self.roles if not role.present)


def buying_group(store: Store, playbook: Playbook, account_id: str, as_of: dt.datetime) -> BuyingGroup | None:
    """The buying group of an account, from its contacts' latest scores and their traits as of
    ``as_of`` (None: the playbook names no buying roles, or nothing is scored yet)."""
    roles = playbook.model.accounts.buying_roles
    if not roles or not store.has_table(SCORES_TABLE):
        return None
    parameters = moment_row(as_of).append_column("account_id", pa.array([account_id], pa.string()))
    with store.parameters(PARAMETERS_TABLE, parameters):
        query = store.kept(("buying_group", playbook.digest, playbook.version), lambda: _compile(store, playbook))
        rows = store.query_rows(query)
    found = []
    for name, condition in roles.items():
        engaged = tuple(row["lead_id"] for row in rows if row[f"fills_{name}"] and row["engaged"])
        waiting = tuple(row["lead_id"] for row in rows if row[f"fills_{name}"] and not row["engaged"])
        found.append(BuyingRole(name, condition.source, engaged, waiting))
    return BuyingGroup(account_id, len(rows), playbook.model.accounts.engaged_when.source, tuple(found))


def _compile(store: Store, playbook: Playbook) -> str:
    """The account's scored contacts, one row each, with ``engaged`` and ``fills_<role>``.

    Compiled inside the registration of :data:`PARAMETERS_TABLE`, whose columns it needs.
    """
    facts = store.facts()
    parameters = store.backend.table(PARAMETERS_TABLE)
    scores = store.backend.table(SCORES_TABLE)
    contacts = scores.filter(scores.account_id.isin(parameters.account_id))
    accounts = playbook.model.accounts
    conditions = [condition.node for condition in accounts.buying_roles.values()] + [accounts.engaged_when.node]
    read = {ref.path[1] for node in conditions for ref in ast.refs(node) if ref.path[0] == "lead"}
    lead_traits = {name: kind for name, kind in used_traits(playbook)[0].items() if name in read}
    traits = trait_snapshot(
        facts,
        "lead",
        lead_traits,
        moment_parameter(parameters),
        "entity_key",
        contacts.select(entity_key=contacts.lead_key),
    )
    table = left_join(
        contacts,
        traits.rename({f"{LEAD_PREFIX}{name}": name for name in lead_traits} | {"lead_key": "entity_key"}),
        "lead_key",
    )
    compiler = ConditionCompiler(resolve=resolver(table).resolve, lists=playbook.lists)
    flags: dict[str, ir.Value] = {
        f"fills_{name}": compiler.compile(condition.node) for name, condition in accounts.buying_roles.items()
    }
    table = table.select("lead_id", engaged=compiler.compile(accounts.engaged_when.node), **flags)
    return store.sql(table.order_by("lead_id"))
