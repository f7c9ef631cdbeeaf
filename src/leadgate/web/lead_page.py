"""Everything the lead page shows, read by the lead's key: no query here scans all leads.

:func:`assemble_lead_page` is the page's whole cost on the server, less the template: the lead's
state, the reach check, its explanation (``PreparedExplanation``'s kept queries), its story
(``lead_history``), its traits and its account's, its latest prediction and its buying group.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from leadgate.domain.stages import Stage
from leadgate.errors import Forbidden, NotFound
from leadgate.lifecycle.facts import LeadState
from leadgate.playbook.compiled import Playbook
from leadgate.predict.features import feature_label
from leadgate.scoring.explain import Explanation
from leadgate.service.explain import explain_lead, explain_stored
from leadgate.service.history import Entry, History, lead_history
from leadgate.service.keys import Principal
from leadgate.store.base import PREDICTIONS_TABLE, Store
from leadgate.store.lifecycle_store import LifecycleStore
from leadgate.web.buying_group import BuyingGroup, buying_group

EVENTS_SHOWN = 50  # the latest events on the page; the count says how many there are in all
DECIDING_ROLES = ("sales", "manager")


@dataclass(frozen=True)
class Trait:
    name: str
    value: str | None
    learnt_at: dt.datetime


@dataclass(frozen=True)
class Factor:
    feature: str
    label: str  # the feature as a person reads it (a rule's signal by the rule's label)
    value: Any
    log_odds: float

    @property
    def shown_value(self) -> str:
        if self.value is None:
            return "-"
        if isinstance(self.value, float):
            return f"{self.value:,.0f}" if self.value.is_integer() else f"{self.value:,.2f}"
        return str(self.value)


@dataclass(frozen=True)
class Prediction:
    probability: float
    model_version: int
    as_of: dt.datetime
    factors: tuple[Factor, ...]


@dataclass(frozen=True)
class LeadPage:
    lead_id: str
    state: LeadState
    overdue: bool  # awaiting acceptance past its SLA
    explanation: Explanation
    history: History
    profile: tuple[Trait, ...]
    account_traits: tuple[Trait, ...]
    prediction: Prediction | None
    buying_group: BuyingGroup | None
    decisions: tuple[str, ...]  # what the viewer may decide now: accept, reject, qualify, disqualify

    @property
    def moves(self) -> list[Entry]:
        """The stage history: every entry but the events, oldest first."""
        return [entry for entry in self.history.entries if entry.kind != "event"]

    @property
    def events(self) -> list[Entry]:
        """The latest events, newest first."""
        return [entry for entry in reversed(self.history.entries) if entry.kind == "event"]

    @property
    def last_decision(self) -> Entry | None:
        decisions = [entry for entry in self.history.entries if entry.kind == "decision"]
        return decisions[-1] if decisions else None


def assemble_lead_page(
    store: Store, playbook: Playbook, principal: Principal, lead_id: str, now: dt.datetime
) -> LeadPage:
    """The lead page's content for ``principal`` (Forbidden outside its reach, NotFound for an
    unknown lead): the function the page bench times.

    A lead the viewer, or a team of theirs, once handled stays readable after it left their
    reach (a rejected lead is nobody's): its page then offers no decision.
    """
    lead_key = key_of(store, lead_id)
    lifecycle = LifecycleStore(store)
    state = lifecycle.state(lead_key)
    try:
        require_reach(principal, state, lead_id)
        deciding = True
    except Forbidden:
        if not any(
            owner == principal.user or principal.sees_team(team) for owner, team in lifecycle.handlers_of(lead_key)
        ):
            raise
        deciding = False
    decisions = decisions_for(principal, state, playbook) if deciding else ()
    with store.few_leads():
        return _lead_page(store, playbook, decisions, lead_id, lead_key, state, now)


def _lead_page(
    store: Store,
    playbook: Playbook,
    decisions: tuple[str, ...],
    lead_id: str,
    lead_key: int,
    state: LeadState,
    now: dt.datetime,
) -> LeadPage:
    # the scores the queue shows, explained as of their run; scored on the spot when there are none
    explanation = explain_stored(store, playbook, lead_key) or explain_lead(store, playbook, lead_id, now)
    account_id = explanation.account.account_id if explanation.account else None
    return LeadPage(
        lead_id=lead_id,
        state=state,
        overdue=state.stage == Stage.SAL_PENDING and state.due_at is not None and state.due_at < now,
        explanation=explanation,
        history=lead_history(store, lead_id, EVENTS_SHOWN, lead_key),
        profile=_latest_traits(store, "entity_key", lead_key, "lead"),
        account_traits=_latest_traits(store, "entity_id", account_id, "account") if account_id else (),
        prediction=prediction_of(store, playbook, lead_key),
        buying_group=buying_group(store, playbook, account_id, now) if account_id else None,
        decisions=decisions,
    )


def key_of(store: Store, lead_id: str) -> int:
    """The lead's key, or a 404 that a person reads (not the CLI's hint)."""
    lead_key = store.lead_key_of(lead_id)
    if lead_key is None:
        raise NotFound(f"there is no lead with the id {lead_id}: the link may be wrong, or the lead was erased")
    return lead_key


def require_reach(principal: Principal, state: LeadState, lead_id: str) -> None:
    """The API's reach check (a rep's own leads and their teams'), said to a person."""
    try:
        principal.require_lead(state.owner, state.team, lead_id)
    except Forbidden:
        teams = ", ".join(sorted(principal.teams or ())) or "no team"
        raise Forbidden(
            f"lead {lead_id} belongs to {'team ' + state.team if state.team else 'no team'}; "
            f"you see the leads of {teams} and your own"
        ) from None


def decisions_for(principal: Principal, state: LeadState, playbook: Playbook) -> tuple[str, ...]:
    """The decision forms to show: by role and stage (the service checks again when one is sent).

    Accepting and rejecting are for the owner and the managers of the owner's team; qualifying
    is for an accepted lead; any open lead may be disqualified. Marketing and admin never decide.
    """
    if principal.role not in DECIDING_ROLES or principal.user is None or not state.is_open:
        return ()
    found: list[str] = []
    if state.stage == Stage.SAL_PENDING and _answers_for(principal, state, playbook):
        found += ["accept", "reject"]
    if state.stage == Stage.SAL:
        found.append("qualify")
    if playbook.model.stages.disqualify_reasons:
        found.append("disqualify")
    return tuple(found)


def _answers_for(principal: Principal, state: LeadState, playbook: Playbook) -> bool:
    if state.owner == principal.user:
        return True
    teams = playbook.model.teams
    return any(team.manager == principal.user and state.owner in team.members for team in teams.values())


def prediction_of(store: Store, playbook: Playbook, lead_key: int) -> Prediction | None:
    """The lead's latest predicted probability (None: no model has scored it)."""
    if not store.has_table(PREDICTIONS_TABLE):
        return None
    row = store.lead_row(PREDICTIONS_TABLE, lead_key)
    if not row or row.get("p_convert") is None:
        return None
    factors = tuple(
        Factor(
            str(item.get("feature")),
            feature_label(playbook, str(item.get("feature"))),
            item.get("value"),
            float(item.get("log_odds") or 0.0),
        )
        for item in json.loads(row.get("top_factors") or "[]")
    )
    return Prediction(float(row["p_convert"]), int(row["model_version"]), row["as_of"], factors)


def _latest_traits(store: Store, key: str, value: int | str, entity_type: str) -> tuple[Trait, ...]:
    """An entity's traits, each with its latest value (the facts' order: time, batch, line)."""
    rows = store._run(
        f"SELECT name, value, learnt_at FROM traits WHERE entity_type = ? AND {key} = ? "  # key: a fixed column
        "ORDER BY learnt_at, batch_id, seq",
        [entity_type, value],
    )
    latest = {name: Trait(name, text, learnt_at) for name, text, learnt_at in rows}
    return tuple(latest[name] for name in sorted(latest))
