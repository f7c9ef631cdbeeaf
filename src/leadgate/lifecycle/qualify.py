"""Moves made by playbook conditions: a lead qualifies (MQL, PQL) or becomes an SQL. Pure.

The scoring engine evaluates every stage condition as a flag (``q_mql``, ``q_pql``, one per
shortcut, ``q_sql``). A lead at ``inquiry``, or ``recycled`` with its cool-off over, moves to
PQL when a PQL condition (or a shortcut to PQL) holds, else to MQL when an MQL condition
(or a shortcut to MQL) holds: product usage is the stronger evidence when both hold. An
accepted lead (``sal``) whose SQL condition holds becomes an SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from leadgate.domain.stages import Stage
from leadgate.lifecycle.facts import SYSTEM_ACTOR, LeadState, Moment, TransitionFact, checked_move
from leadgate.lifecycle.machine import Cause, Transition
from leadgate.playbook.model import PlaybookModel


def qualifying_conditions(playbook: PlaybookModel) -> dict[str, list[str]]:
    """For ``pql`` and ``mql``: the condition names that lead there, in the order tried."""
    routes: dict[str, list[str]] = {"pql": [], "mql": ["mql"]}
    if playbook.stages.pql is not None:
        routes["pql"].append("pql")
    for name, shortcut in playbook.stages.shortcuts.items():
        routes[shortcut.goes_to].append(name)
    return routes


def rule_transition(
    table: tuple[Transition, ...],
    state: LeadState,
    flags: Mapping[str, bool],
    playbook: PlaybookModel,
    playbook_version: int,
    at: dt.datetime,
    moment: Moment,
) -> TransitionFact | None:
    """The move a lead's condition flags call for now, if any."""
    target, holding = _target(state, flags, playbook, at)
    if target is None:
        return None
    again = " again" if state.episode else ""
    conditions = "condition holds" if len(holding) == 1 else "conditions hold"
    detail = f"{' and '.join(holding)} {conditions}" + (f" (qualifies{again})" if target != Stage.SQL else "")
    return checked_move(table, state, target, Cause.RULE, detail, SYSTEM_ACTOR, at, playbook_version, moment)


def _target(
    state: LeadState, flags: Mapping[str, bool], playbook: PlaybookModel, at: dt.datetime
) -> tuple[Stage | None, list[str]]:
    if state.stage == Stage.SAL:
        return (Stage.SQL, ["sql"]) if flags.get("sql") else (None, [])
    ready = state.stage == Stage.INQUIRY or (
        state.stage == Stage.RECYCLED and (state.cool_off_until is None or state.cool_off_until <= at)
    )
    if not ready:
        return None, []
    for stage_name, stage in (("pql", Stage.PQL), ("mql", Stage.MQL)):
        holding = [name for name in qualifying_conditions(playbook)[stage_name] if flags.get(name)]
        if holding:
            return stage, holding
    return None, []
