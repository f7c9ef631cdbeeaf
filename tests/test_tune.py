"""``leadgate tune``: rule and reason feedback on a small world whose rates are worked out by hand."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from leadgate.analytics.feedback import tune
from leadgate.playbook.loader import parse_playbook
from leadgate.store.base import Store
from leadgate.workspace import init_workspace
from tests.cli_runs import run
from tests.worlds import Handoff, World, at

PLAYBOOK = """name: tune
version: 1
scoring:
  fit:
    - {when: "lead.role == 'CTO'", points: 20}
  engagement:
    rules:
      - {event: page_view, points: 10, decay: false}
stages:
  mql: {when: "fit >= 20 and engagement >= 10"}
  sal:
    reject_reasons:
      no_budget: {then: recycle, cool_off_days: 30}
      not_icp: {then: disqualify}
teams:
  sales: {members: [ana, ben], manager: max}
routing:
  - {to: team sales}
"""
AS_OF = at("2026-04-01T00:00:00")


def story(store: Store) -> None:
    """Four MQL episodes. ann (CTO, page views): accepted, SQL. bob (CTO, page views, first touch
    google): rejected by ana for no budget. cid (page views only): accepted, SQL, won. dee (CTO,
    no page view): rejected by ben as not our customer."""
    world = World(store).lead("ann").lead("bob").lead("cid").lead("dee")
    world.did("bob", "page_view", "2026-03-01T10:00:00", utm_source="google", utm_campaign="spring")
    world.did("bob", "page_view", "2026-03-02T10:00:00", utm_source="linkedin")
    world.did("ann", "page_view", "2026-03-01T10:00:00").save()
    both, fit_only, engagement_only = {"fit_1": 20.0, "engagement_1": 10.0}, {"fit_1": 20.0}, {"engagement_1": 10.0}
    handoff = Handoff(store)
    handoff.moved("ann", "mql", "2026-03-05T00:00:00", both).moved("ann", "sal", "2026-03-05T02:00:00")
    handoff.moved("ann", "sql", "2026-03-10T00:00:00")
    handoff.moved("bob", "mql", "2026-03-05T00:00:00", both).moved("bob", "rejected", "2026-03-05T03:00:00")
    handoff.decided("bob", "reject", "2026-03-05T03:00:00", reason="no_budget", actor="ana")
    handoff.moved("cid", "mql", "2026-03-06T00:00:00", engagement_only).moved("cid", "sal", "2026-03-06T01:00:00")
    handoff.moved("cid", "sql", "2026-03-12T00:00:00").moved("cid", "won", "2026-03-20T00:00:00")
    handoff.moved("dee", "mql", "2026-03-07T00:00:00", fit_only).moved("dee", "rejected", "2026-03-07T05:00:00")
    handoff.decided("dee", "reject", "2026-03-07T05:00:00", reason="not_icp", actor="ben").save()


def test_rule_rates_are_the_ones_worked_out_by_hand(store: Store) -> None:
    """Base SQL rate 2/4 (ann, cid). fit_1 gave points to ann, bob and dee: 1 of 3 accepted, 1 of
    3 SQL, none won, lift (1/3) / (1/2). engagement_1 to ann, bob and cid: 2 of 3 accepted and
    SQL, 1 of 3 won, lift (2/3) / (1/2)."""
    story(store)
    report = tune(store, parse_playbook(PLAYBOOK, "tune.yaml"), AS_OF)
    assert (report.episodes, report.closed, report.base_sql_rate) == (4, 4, 0.5)
    rules = {rule.rule: rule for rule in report.rules}
    fit = rules["fit_1"]
    assert (fit.mqls, fit.acceptance_rate, fit.sql_rate, fit.won_rate, fit.lift) == (
        3,
        round(1 / 3, 4),
        round(1 / 3, 4),
        0.0,
        round(round(1 / 3, 4) / 0.5, 4),
    )
    engagement = rules["engagement_1"]
    assert (engagement.mqls, engagement.acceptance_rate, engagement.sql_rate, engagement.won_rate) == (
        3,
        round(2 / 3, 4),
        round(2 / 3, 4),
        round(1 / 3, 4),
    )
    assert engagement.lift == round(round(2 / 3, 4) / 0.5, 4)


def test_the_feedback_can_be_split_by_playbook_version(store: Store) -> None:
    """cid qualified under version 2, the others under version 1 (written by hand below). Version 1:
    ann (SQL), bob and dee (rejected): base SQL rate 1/3. Version 2: cid (SQL, won): 1/1."""
    story(store)
    store._run("UPDATE transitions SET playbook_version = 2 WHERE lead_key = ?", [store.lead_key_of("cid")])
    playbook = parse_playbook(PLAYBOOK, "tune.yaml")
    first, second = tune(store, playbook, AS_OF, version=1), tune(store, playbook, AS_OF, version=2)
    assert (first.episodes, first.base_sql_rate, first.playbook_version) == (3, round(1 / 3, 4), 1)
    assert (second.episodes, second.base_sql_rate) == (1, 1.0)
    assert {rule.rule: rule.mqls for rule in second.rules}["engagement_1"] == 1
    assert tune(store, playbook, AS_OF, version=3).episodes == 0


def test_rejection_reasons_by_source_campaign_rep_and_rule(store: Store) -> None:
    """bob's first touch is google (spring); dee has none. bob had both rules, dee only fit_1."""
    story(store)
    report = tune(store, parse_playbook(PLAYBOOK, "tune.yaml"), AS_OF)
    found = {(item.by, item.value, item.reason): item.count for item in report.reasons}
    assert found == {
        ("source", "google", "no_budget"): 1,
        ("source", "(none)", "not_icp"): 1,
        ("campaign", "spring", "no_budget"): 1,
        ("campaign", "(none)", "not_icp"): 1,
        ("rep", "ana", "no_budget"): 1,
        ("rep", "ben", "not_icp"): 1,
        ("rule", "fit_1", "no_budget"): 1,
        ("rule", "fit_1", "not_icp"): 1,
        ("rule", "engagement_1", "no_budget"): 1,
    }


def test_a_penalty_rule_counts_the_mqls_it_took_points_from(store: Store) -> None:
    """A -5 rule for interns: eve (CTO and intern, page views) lost 5 points and was rejected for
    no budget; fay (CTO, page views) was accepted and reached SQL. The penalty applied in 1 MQL
    episode of 2: none accepted, none SQL; its rejection is counted under its rule too."""
    playbook = parse_playbook(
        PLAYBOOK.replace("""points: 20}""", """points: 20}\n    - {when: "lead.department == 'Intern'", points: -5}"""),
        "tune.yaml",
    )
    World(store).lead("eve").lead("fay").save()
    handoff = Handoff(store)
    handoff.moved("eve", "mql", "2026-03-05T00:00:00", {"fit_1": 20.0, "fit_2": -5.0, "engagement_1": 10.0})
    handoff.moved("eve", "rejected", "2026-03-05T03:00:00")
    handoff.decided("eve", "reject", "2026-03-05T03:00:00", reason="no_budget", actor="ana")
    handoff.moved("fay", "mql", "2026-03-06T00:00:00", {"fit_1": 20.0, "engagement_1": 10.0})
    handoff.moved("fay", "sal", "2026-03-06T01:00:00").moved("fay", "sql", "2026-03-09T00:00:00").save()
    report = tune(store, playbook, AS_OF)
    penalty = {rule.rule: rule for rule in report.rules}["fit_2"]
    assert (penalty.points, penalty.mqls, penalty.acceptance_rate, penalty.sql_rate) == (-5.0, 1, 0.0, 0.0)
    assert ("rule", "fit_2", "no_budget") in {(item.by, item.value, item.reason) for item in report.reasons}


def test_facts_after_as_of_are_not_read(store: Store) -> None:
    """As of 6 March noon: ann, bob and cid have qualified (dee not yet); ann and cid are accepted,
    bob rejected; nobody has reached SQL (ann does on 10 March)."""
    story(store)
    report = tune(store, parse_playbook(PLAYBOOK, "tune.yaml"), at("2026-03-06T12:00:00"))
    rules = {rule.rule: rule for rule in report.rules}
    assert report.episodes == 3
    engagement = rules["engagement_1"]
    assert (engagement.acceptance_rate, engagement.sql_rate, engagement.lift) == (round(2 / 3, 4), 0.0, None)


def test_too_little_history_gives_a_note_instead_of_suggestions(store: Store) -> None:
    story(store)
    report = tune(store, parse_playbook(PLAYBOOK, "tune.yaml"), AS_OF)
    assert report.suggestions == []
    assert "at least 20 closed episodes" in report.notes[0]


def test_points_are_suggested_from_which_rules_convert(store: Store) -> None:
    """24 MQL episodes: twelve leads qualified on the fit rule alone all became SQL, twelve on the
    engagement rule alone were all rejected. The regression's two features are mirror images (one
    is 1 exactly where the other is 0) and the outcomes follow them, so by symmetry the fitted
    coefficients are opposite (+c and -c). Rescaled so that their mean size equals the rules' mean
    size ((20 + 10) / 2 = 15): +15 points for the fit rule, -15 for the engagement rule."""
    names = [f"g{index}" for index in range(12)] + [f"b{index}" for index in range(12)]
    world = World(store)
    for name in names:
        world.lead(name)
    world.save()
    handoff = Handoff(store)
    for index, name in enumerate(names):
        day = f"2026-03-{1 + index % 20:02d}"
        if name.startswith("g"):
            handoff.moved(name, "mql", f"{day}T00:00:00", {"fit_1": 20.0}).moved(name, "sal", f"{day}T01:00:00")
            handoff.moved(name, "sql", f"{day}T05:00:00")
        else:
            handoff.moved(name, "mql", f"{day}T00:00:00", {"engagement_1": 10.0})
            handoff.moved(name, "rejected", f"{day}T02:00:00")
    handoff.save()
    report = tune(store, parse_playbook(PLAYBOOK, "tune.yaml"), AS_OF)
    suggested = {suggestion.rule: suggestion for suggestion in report.suggestions}
    assert (suggested["fit_1"].suggested, suggested["engagement_1"].suggested) == (15, -15)
    assert suggested["fit_1"].coefficient == pytest.approx(-suggested["engagement_1"].coefficient, abs=1e-3)
    assert suggested["fit_1"].coefficient > 0 and suggested["fit_1"].precision_now == 0.5


@pytest.mark.parametrize("engine", ["duckdb"])
def test_the_command_prints_json(engine: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace = init_workspace(tmp_path / "ws")
    (workspace.playbook_path).write_text(PLAYBOOK, encoding="utf-8")
    story(workspace.store)
    workspace.close()
    status, out, err = run(capsys, "-w", str(tmp_path / "ws"), "tune", "--as-of", "2026-04-01", "--json")
    assert status == 0, err
    report = orjson.loads(out)
    assert report["base_sql_rate"] == 0.5 and len(report["rules"]) == 2
    status, out, err = run(capsys, "-w", str(tmp_path / "ws"), "tune", "--as-of", "2026-04-01")
    assert status == 0, err
    assert "Rejection reasons" in out and "no_budget" in out
