"""The playbook loader: what it accepts, and every error it reports with FILE:LINE:COLUMN."""

from __future__ import annotations

import pytest

from leadgate.codes import CODES
from leadgate.errors import PlaybookInvalid
from leadgate.playbook.conditions import ast
from leadgate.playbook.loader import load_playbook, parse_playbook, validate_playbook
from leadgate.workspace import example_playbook_text

BASE = """\
name: t
version: 1
scoring:
  fit:
    - {when: "account.employees >= 200", points: 20}
  engagement:
    rules:
      - {event: page_view, points: 1}
stages:
  mql: {when: "fit >= 30"}
  sal: {reject_reasons: {no_budget: {then: recycle, cool_off_days: 30}}}
"""


def issues_of(text: str) -> list[tuple[int, int, str]]:
    playbook, issues = validate_playbook(text, "p.yaml")
    assert playbook is None
    return [(issue.line, issue.column, issue.code) for issue in issues]


def test_the_base_playbook_is_valid() -> None:
    playbook = parse_playbook(BASE, "p.yaml")
    assert [rule.id for rule in playbook.rules] == ["fit_1", "engagement_1"]


def test_the_example_playbook_uses_every_construct_of_the_sketch() -> None:
    model = parse_playbook(example_playbook_text(), "playbook.yaml").model
    rules = model.scoring.engagement.rules
    assert model.timezone == "Europe/Paris" and model.business_hours.days and model.holidays
    assert model.lists and model.traits.lead and model.traits.account
    assert any(rule.points < 0 for rule in model.scoring.fit)
    assert any(rule.where is not None for rule in rules)
    assert any(rule.cap is not None for rule in rules)
    assert any(rule.max_per_day is not None for rule in rules)
    assert any(rule.once for rule in rules)
    assert any(not rule.decay for rule in rules)
    assert any(rule.half_life_days is not None for rule in rules)
    assert any(rule.at_least is not None and rule.within_days is not None for rule in rules)
    assert any(rule.points < 0 for rule in rules)
    assert model.scoring.cap_total and model.scoring.engagement.half_life_days
    assert model.scoring.scores and model.scoring.product and len(model.scoring.product.signals) == 4
    assert {signal.count for signal in model.scoring.product.signals.values()} == {
        "events",
        "distinct_days",
        "distinct_values",
    }
    assert model.accounts.fit and model.accounts.score and len(model.accounts.buying_roles) == 4
    stages = model.stages
    assert stages.pql is not None and stages.sql.or_when is not None and stages.recycle.reset_engagement
    assert {shortcut.goes_to for shortcut in stages.shortcuts.values()} == {"mql"}
    windowed = [ast.event_clauses(s.when.node) for s in stages.shortcuts.values()]
    assert any(clause.at_least == 3 for clauses in windowed for clause in clauses)
    assert {reason.then for reason in stages.sal.reject_reasons.values()} == {"disqualify", "recycle", "merge"}
    assert stages.sal.sla is not None and str(stages.sal.sla) == "4 business hours"
    assert {rule.method for rule in model.routing} >= {"round_robin", "weighted", "least_loaded"}
    assert any(rule.to.kind == "account_owner" for rule in model.routing)
    assert model.teams and {n.send for n in model.notify} == {"webhook", "email"}


def test_every_error_is_reported_at_once_with_its_place() -> None:
    text = """\
name: bad
version: 0
timezone: Europe/Pariss
scoring:
  fit:
    - {when: "account.employes >= 200", points: 20}
    - {when: "account.employees >= 'big'", points: ten}
    - {whn: "lead.role == 'CEO'", points: 1}
  engagement:
    rules:
      - {event: Page View, points: 1}
stages:
  mql: {when: "fit >= 30 and engagment >= 40"}
  sal: {reject_reasons: {no_budget: {then: recycle}}}
"""
    assert issues_of(text) == [
        (2, 10, "PB012"),  # version: 0 (must be above zero)
        (3, 11, "PB106"),  # the time zone
        (6, 15, "PB102"),  # account.employes: the 'a' after {when: "
        (7, 15, "PB103"),  # a number compared with text
        (7, 52, "PB012"),  # points: ten
        (8, 7, "PB011"),  # 'when' missing: the rule's opening brace
        (8, 8, "PB010"),  # 'whn' unknown: the key itself
        (11, 17, "PB012"),  # 'Page View' is not snake case
        (13, 30, "PB102"),  # engagment
        (14, 37, "PB011"),  # recycle needs cool_off_days: the reason's opening brace
    ]


CASES = [
    ("name: [unclosed", "PB001"),
    ("- just\n- a list\n", "PB002"),
    (BASE + "name: twice\n", "PB003"),
    (BASE + "colour: blue\n", "PB010"),
    (BASE.replace("name: t\n", ""), "PB011"),
    (BASE.replace("version: 1", "version: one"), "PB012"),
    (BASE.replace("{event: page_view, points: 1}", "{event: page_view, points: 1, at_least: 3}"), "PB013"),
    (BASE.replace("fit >= 30", "fit >="), "PB101"),
    (BASE.replace("fit >= 30", "fitt >= 30"), "PB102"),
    (BASE.replace("fit >= 30", "fit >= 'high'"), "PB103"),
    (BASE.replace("account.employees >= 200", "lead.email_domain in @freemail"), "PB104"),
    (BASE.replace("account.employees >= 200", "engagement >= 10"), "PB105"),
    (BASE + "timezone: Mars/Olympus\n", "PB106"),
    (BASE + 'business_hours: {days: [mon], start: "18:00", end: "09:00"}\n', "PB107"),
    (BASE + "routing:\n  - {to: team ghosts}\nteams:\n  smb: {members: [a], manager: b}\n", "PB108"),
    (BASE + "notify:\n  - {on: stage becomes hot, send: email, to: owner}\n", "PB109"),
    (
        BASE
        + "routing:\n  - {to: team smb, method: weighted, weights: {zoe: 2}}\nteams:\n  smb: {members: [a], manager: b}\n",
        "PB110",
    ),
    (BASE.replace("points: 20}", "points: 20, id: dup}").replace("points: 1}", "points: 1, id: dup}"), "PB112"),
    (BASE + "traits:\n  account:\n    employees: text\n", "PB114"),
    (BASE + "routing:\n  - {when: 'fit > 1', to: account_owner}\n", "PB115"),
]


@pytest.mark.parametrize(("text", "code"), CASES, ids=[code for _, code in CASES])
def test_each_playbook_error_code(text: str, code: str) -> None:
    assert code in [found for _, _, found in issues_of(text)]


def test_every_playbook_code_has_a_case() -> None:
    playbook_codes = {code for code in CODES if code.startswith("PB")}
    assert playbook_codes == {code for _, code in CASES}


def test_yaml_12_scalars_norway_stays_a_country() -> None:
    text = (
        BASE.replace('"account.employees >= 200"', '"account.country in @nordics"')
        + "lists:\n  nordics: [NO, SE, on]\n"
    )
    playbook = parse_playbook(text, "p.yaml")
    assert playbook.lists["nordics"] == ("NO", "SE", "on")


def test_times_of_day_stay_text() -> None:
    playbook = parse_playbook(BASE + "business_hours: {days: [mon], start: 09:00, end: 17:30}\n", "p.yaml")
    assert playbook.model.business_hours.start == "09:00"


def test_a_playbook_with_errors_is_never_returned(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "broken.yaml"
    path.write_text(BASE.replace("fit >= 30", "fit >>= 30"))
    with pytest.raises(PlaybookInvalid) as caught:
        load_playbook(path)
    assert str(caught.value.issues[0]).startswith(f"{path}:10:")


def test_condition_errors_point_inside_the_condition() -> None:
    text = BASE.replace('mql: {when: "fit >= 30"}', "mql: {when: \"fit >= 30 and lead.rol == 'CEO'\"}")
    ((line, column, code),) = issues_of(text)
    # line 10 is `  mql: {when: "fit >= 30 and lead.rol == 'CEO'"}`; the quote is at column 15,
    # so the condition starts at 16 and 'lead.rol' (offset 14 in the condition) at 30.
    assert (line, column, code) == (10, 30, "PB102")


def test_unknown_names_get_a_suggestion() -> None:
    _, issues = validate_playbook(BASE.replace("fit >= 30", "engagment >= 30"), "p.yaml")
    assert "did you mean 'engagement'" in issues[0].message


def test_an_sla_must_leave_time_to_decide() -> None:
    text = example_playbook_text().replace('"4 business hours"', '"0 minutes"')
    line = next(number for number, content in enumerate(text.splitlines(), 1) if "sla:" in content)
    assert [(found_line, code) for found_line, _, code in issues_of(text)] == [(line, "PB012")]
