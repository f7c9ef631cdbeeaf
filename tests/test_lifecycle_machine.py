"""The stage machine's table, pure."""

from __future__ import annotations

import pytest

from leadgate.domain.stages import Stage
from leadgate.lifecycle.machine import (
    TRANSITIONS,
    Cause,
    TransitionRefused,
    check_transition,
    transitions_for,
    transitions_of,
)


def pairs(table: tuple) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    return {(row.source.value, row.target.value) for row in table}


def test_the_demand_waterfall_with_its_exits() -> None:
    table = pairs(transitions_for(pql=True, sal=True))
    assert {("inquiry", "mql"), ("inquiry", "pql"), ("mql", "sal_pending"), ("sal_pending", "sal"),
            ("sal_pending", "rejected"), ("rejected", "recycled"), ("sal", "sql"), ("sql", "opportunity"),
            ("opportunity", "won"), ("opportunity", "lost"), ("recycled", "mql")} <= table  # fmt: skip
    assert ("inquiry", "sql") not in table and ("won", "mql") not in table
    assert not any(source in ("won", "lost", "disqualified") for source, _ in table)  # final stages


def test_without_pql_or_sal_the_table_shrinks() -> None:
    assert not any("pql" in pair for pair in pairs(transitions_for(pql=False, sal=True)))
    no_sal = pairs(transitions_for(pql=True, sal=False))
    assert ("mql", "sal") in no_sal and not any("sal_pending" in pair for pair in no_sal)
    assert ("mql", "sal") not in pairs(transitions_for(pql=True, sal=True))


def test_a_move_outside_the_table_is_refused_with_the_alternatives() -> None:
    table = transitions_for(pql=True, sal=True)
    with pytest.raises(
        TransitionRefused, match="cannot go from inquiry to sql: from inquiry a lead can go to disqualified, mql, pql"
    ):
        check_transition(table, Stage.INQUIRY, Stage.SQL, Cause.DECISION)
    with pytest.raises(TransitionRefused, match="won is a final stage"):
        check_transition(table, Stage.WON, Stage.MQL, Cause.RULE)
    with pytest.raises(TransitionRefused, match="sal_pending -> sal happens by decision, not by rule"):
        check_transition(table, Stage.SAL_PENDING, Stage.SAL, Cause.RULE)
    assert check_transition(table, Stage.SAL, Stage.SQL, Cause.RULE).target == Stage.SQL


def test_every_open_stage_can_be_disqualified() -> None:
    sources = {row.source for row in TRANSITIONS if row.target == Stage.DISQUALIFIED and Cause.DECISION in row.causes}
    assert sources == {
        Stage.INQUIRY,
        Stage.MQL,
        Stage.PQL,
        Stage.SAL_PENDING,
        Stage.SAL,
        Stage.SQL,
        Stage.OPPORTUNITY,
        Stage.RECYCLED,
    }


def test_a_shortcut_to_pql_brings_the_pql_rows_without_a_pql_condition() -> None:
    from leadgate.playbook.loader import parse_playbook
    from leadgate.workspace import example_playbook_text

    text = example_playbook_text()
    start = text.index("  pql:\n")
    end = text.index("  fast_track:")
    without_pql = text[:start] + text[end:]
    plain = parse_playbook(without_pql, "p.yaml").model
    assert ("inquiry", "pql") not in pairs(transitions_of(plain))
    shortcut = parse_playbook(without_pql.replace("goes_to: mql", "goes_to: pql", 1), "p.yaml").model
    assert ("inquiry", "pql") in pairs(transitions_of(shortcut)) and ("pql", "sal_pending") in pairs(
        transitions_of(shortcut)
    )
