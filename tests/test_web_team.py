"""The managers' pages and manual reassignment: the pure rule, the service on a real store,
the pages over a real server (statuses, reach, bad input), and one flow in a real browser.

The served story: four hand-raisers qualified on a Monday two weeks ago and nobody answered,
so Tuesday's cycle recorded a breach for each and gave it to another rep of its team, whose
deadline (Tuesday 14:00 Paris) has long passed too. Every lead waiting on sales is late.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from leadgate.domain.stages import Stage
from leadgate.lifecycle.decisions import Conflict
from leadgate.lifecycle.facts import LeadState
from leadgate.lifecycle.reassign import Reassignment, ReassignmentRefused, reassign
from leadgate.playbook.loader import parse_playbook
from leadgate.routing.assign import Absence
from leadgate.routing.sla import local_day
from leadgate.service.cycle import run_cycle
from leadgate.service.history import lead_history
from leadgate.service.outbox import collect
from leadgate.service.reassign import reassign_lead
from leadgate.service.reps import mark_away
from leadgate.service.team import team_leads
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore
from leadgate.workspace import example_playbook_text, init_workspace
from tests.browser import STANDARD_USERS, add_users, csrf_of, signed_in_client, signed_in_page
from tests.cli_runs import run
from tests.service_fixtures import Served, serving, wait_until
from tests.worlds import World, at

PLAYBOOK = parse_playbook(example_playbook_text(), "playbook.yaml")
MONDAY = at("2026-11-23T09:00:00")  # Paris 10:00; 4 business hours later is 13:00 UTC
USERS = {**STANDARD_USERS, "ines": ("manager", None)}
FACT_TABLES = ("transitions", "assignments", "decisions", "sla_breaches", "absences")


# -- the pure rule -----------------------------------------------------------------------------
def pending(owner: str = "carla", team: str | None = "enterprise", **fields: Any) -> LeadState:
    """A lead awaiting acceptance since Monday 09:00 UTC, version 3 (qualified, assigned, queued)."""
    values: dict[str, Any] = {
        "stage": Stage.SAL_PENDING,
        "since": MONDAY,
        "version": 3,
        "episode": 1,
        "owner": owner,
        "team": team,
        "queue": "rep",
        "assigned_at": MONDAY,
        "due_at": at("2026-11-23T13:00:00"),
    }
    return LeadState(7, **{**values, **fields})


def move(to: str, actor: str = "erin", when: str = "2026-11-23T15:00:00", version: int | None = 3) -> Reassignment:
    return Reassignment("ann", to, actor, at(when), version)


def test_a_manager_gives_a_late_lead_to_another_rep_and_its_sla_clock_starts_again() -> None:
    fact = reassign(pending(), move("dev"), PLAYBOOK.model, [])
    assert (fact.lead_key, fact.owner, fact.team, fact.queue) == (7, "dev", "enterprise", "rep")
    assert (fact.cause, fact.method, fact.rule) == ("manual", "manual", "erin")
    assert fact.reason == "reassigned by erin, was carla's"
    # Monday 15:00 UTC is 16:00 in Paris: 2 business hours left that day, 2 more from Tuesday
    # 09:00 Paris, so the decision is due Tuesday 11:00 Paris = 10:00 UTC.
    assert fact.at == at("2026-11-23T15:00:00") and fact.due_at == at("2026-11-24T10:00:00")


def test_an_accepted_lead_changes_hands_without_a_deadline() -> None:
    accepted = pending(stage=Stage.SAL, due_at=None)
    assert reassign(accepted, move("dev"), PLAYBOOK.model, []).due_at is None


def test_a_lead_without_a_team_belongs_to_the_team_of_its_owner() -> None:
    # Routed to the account's owner: the assignment names no team; carla is in enterprise.
    fact = reassign(pending(team=None), move("dev"), PLAYBOOK.model, [])
    assert fact.team == "enterprise"


def test_a_lead_in_the_managers_queue_goes_to_a_rep() -> None:
    escalated = pending(owner="erin", queue="manager", due_at=None)
    fact = reassign(escalated, move("carla"), PLAYBOOK.model, [])
    assert (fact.owner, fact.queue, fact.due_at) == ("carla", "rep", at("2026-11-24T10:00:00"))


@pytest.mark.parametrize(
    ("state", "request_", "message"),
    [
        (pending(), move("dev", actor="ines"), "only erin, the manager of team enterprise, can reassign lead ann"),
        (pending(), move("dev", actor="carla"), "only erin, the manager"),
        (pending(), move("farah"), "farah is not a rep of team enterprise (its reps: carla, dev)"),
        (pending(), move("zoe"), "zoe is not a rep of team enterprise"),
        (pending(), move("carla"), "lead ann is already carla's"),
        (pending(owner="farah", team="smb"), move("gus"), "only ines, the manager of team smb"),
        (LeadState(7, stage=Stage.MQL, version=3), move("dev"), "is mql and not assigned to anyone"),
        (pending(stage=Stage.WON), move("dev"), "is won and closed"),
        (pending(owner="nobody", team=None), move("dev"), "belongs to no team (nobody is in none)"),
        (pending(), move("dev", when="2026-11-23T08:00:00"), "before the lead's last move"),
    ],
)
def test_a_reassignment_the_rules_do_not_allow_is_refused(
    state: LeadState, request_: Reassignment, message: str
) -> None:
    with pytest.raises(ReassignmentRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        reassign(state, request_, PLAYBOOK.model, [])


def test_a_rep_away_that_day_cannot_take_the_lead() -> None:
    # Away Monday to Wednesday (local days of the playbook's zone, both included).
    absences = [Absence("dev", dt.date(2026, 11, 23), dt.date(2026, 11, 25))]
    with pytest.raises(ReassignmentRefused, match="dev is away until 2026-11-25"):
        reassign(pending(), move("dev"), PLAYBOOK.model, absences)
    after = move("dev", when="2026-11-26T09:00:00")  # Thursday: back
    assert reassign(pending(), after, PLAYBOOK.model, absences).owner == "dev"


def test_a_reassignment_made_on_a_stale_view_is_a_conflict() -> None:
    with pytest.raises(Conflict, match="changed since you looked at it \\(version 1, now 3\\)"):
        reassign(pending(), move("dev", version=1), PLAYBOOK.model, [])


# -- the service on a real store ----------------------------------------------------------------
def hand_raisers(world: World, when: dt.datetime) -> World:
    """Leads who asked for a demo an hour before ``when``: two of enterprise, one of smb."""
    world.account("acme", employees=1500, industry="Software", country="US")
    world.account("globex", employees=2000, industry="Software", country="US")
    world.account("beta", employees=300, industry="Retail", country="DE")
    world.account("fromage", employees=200, industry="Retail", country="FR")
    world.lead("ann", account="acme", role="CTO", budget_estimate=20000)
    world.lead("ben", account="globex", role="Head")
    world.lead("cleo", account="beta", role="CTO", budget_estimate=20000)
    world.lead("dana", account="fromage", role="CTO", budget_estimate=20000)
    demo = (when - dt.timedelta(hours=1)).isoformat()
    for lead in ("ann", "ben", "cleo", "dana"):
        world.did(lead, "demo_requested", demo)
    return world.save()


def state_of(store: Store, lead_id: str) -> LeadState:
    key = store.lead_key_of(lead_id)
    assert key is not None
    return LifecycleStore(store).state(key)


def fact_counts(store: Store) -> dict[str, int]:
    return {table: store.count(table) for table in FACT_TABLES}


def test_reassigning_records_one_assignment_the_outbox_notifies(world: World) -> None:
    text = example_playbook_text().replace("notify:\n", "notify:\n  - {on: assigned, send: email, to: owner}\n", 1)
    playbook = parse_playbook(text, "playbook.yaml")
    hand_raisers(world, MONDAY)
    run_cycle(world.store, playbook, MONDAY)
    store = world.store
    ann = state_of(store, "ann")
    assert (ann.owner, ann.team) == ("carla", "enterprise")  # the round robin starts with carla
    collect(store, playbook.model, MONDAY)  # the routing's notices are queued: what follows is new
    before = fact_counts(store)
    when = at("2026-11-23T10:00:00")
    after = reassign_lead(store, playbook, Reassignment("ann", "dev", "erin", when, ann.version))
    assert (after.owner, after.team, after.version) == ("dev", "enterprise", ann.version + 1)
    assert after.due_at == at("2026-11-23T14:00:00")  # 4 business hours from Paris 11:00
    assert fact_counts(store) == {**before, "assignments": before["assignments"] + 1}
    assert state_of(store, "ann") == after
    rows = store._run(
        "SELECT owner, rule, method, cause FROM assignments WHERE lead_key = ? ORDER BY seq", [ann.lead_key]
    )
    assert rows[-1] == ("dev", "erin", "manual", "manual")
    assert collect(store, playbook.model, when) == 1
    notice = store._run("SELECT destination, event, lead_id FROM outbox ORDER BY seq DESC LIMIT 1")
    assert notice == [("dev", "assigned", "ann")]
    history = lead_history(store, "ann")
    assert (
        history.entries[-1].what
        == "assigned to dev: reassigned by erin, was carla's, decision due by 2026-11-23 14:00 UTC"
    )
    assert history.entries[-1].who == "erin"  # the manager who moved it, not the system


def test_a_stale_reassignment_records_nothing(world: World) -> None:
    playbook = PLAYBOOK
    hand_raisers(world, MONDAY)
    run_cycle(world.store, playbook, MONDAY)
    before = fact_counts(world.store)
    stale = Reassignment("ann", "dev", "erin", at("2026-11-23T10:00:00"), expected_version=1)
    with pytest.raises(Conflict):
        reassign_lead(world.store, playbook, stale)
    assert fact_counts(world.store) == before and state_of(world.store, "ann").owner == "carla"


# -- the pages over a real server -----------------------------------------------------------------
def two_weeks_ago_monday(now: dt.datetime) -> dt.datetime:
    day = (now - dt.timedelta(days=14)).date()
    return dt.datetime.combine(day - dt.timedelta(days=day.weekday()), dt.time(9, 0))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The story of the module docstring, served; the worker cycles only when woken."""
    with serving(tmp_path / "ws", keys={}, idle_seconds=3600) as found:
        add_users(found, USERS)
        runtime = found.runtime
        wait_until(lambda: runtime.worker.cycles >= 1, what="the first cycle")
        monday = two_weeks_ago_monday(runtime.now())
        with runtime.locked() as store:
            hand_raisers(World(store), monday)
            run_cycle(store, runtime.playbook(), monday)
            run_cycle(store, runtime.playbook(), monday + dt.timedelta(days=1))  # all late: breached, moved on
        yield found


def owners(served: Served) -> dict[str, str | None]:
    with served.runtime.locked() as store:
        return {lead: state_of(store, lead).owner for lead in ("ann", "ben", "cleo", "dana")}


def version_of(served: Served, lead: str) -> int:
    with served.runtime.locked() as store:
        return state_of(store, lead).version


def snapshot(served: Served) -> tuple[dict[str, int], dict[str, str | None]]:
    with served.runtime.locked() as store:
        counts = fact_counts(store)
    return counts, owners(served)


def reassign_form(client: httpx.Client, lead: str, to: str, version: int | None = None, **extra: str) -> httpx.Response:
    if version is None:
        with_version = client.get("/app/team").text
        marker = f'name="lead_id" value="{lead}">'
        start = with_version.index('name="expected_version" value="', with_version.index(marker)) + 31
        version = int(with_version[start : with_version.index('"', start)])
    data = {"csrf_token": csrf_of(client, "/app/team"), "lead_id": lead, "to": to, "expected_version": str(version)}
    return client.post("/app/team/reassign", data={**data, **extra})


def test_the_story_is_as_the_module_says(served: Served) -> None:
    # Monday's round robin gave ann (the better fit) to carla and ben to dev, dana to alice (the
    # heavier weight) and cleo to farah; Tuesday's breaches moved each to the other rep.
    assert owners(served) == {"ann": "dev", "ben": "carla", "cleo": "gus", "dana": "bruno"}


def test_a_manager_sees_the_open_leads_of_their_teams_late_ones_marked(served: Served) -> None:
    with signed_in_client(served, "erin") as client:
        page = client.get("/app/team")
    assert page.status_code == 200
    text = page.text
    for lead in ("ann", "ben", "dana"):
        assert f'href="/app/leads/{lead}"' in text
    assert "cleo" not in text  # smb is ines's team
    assert "3 late" in text and text.count("overdue by") == 3
    assert "1 SLA breach before" in text
    # The select of each lead lists the other present reps of its team only.
    ann_form = text[text.index('value="ann"') : text.index("</form>", text.index('value="ann"'))]
    assert '<option value="carla">' in ann_form and "dev</option>" not in ann_form and "farah" not in ann_form


def test_a_long_team_list_shows_the_most_urgent_and_counts_them_all(served: Served) -> None:
    runtime = served.runtime
    with runtime.locked() as store:
        found = team_leads(store, runtime.playbook(), {"enterprise", "emea_fr"}, runtime.now(), limit=2)
        due = {lead: state_of(store, lead).due_at for lead in ("ann", "ben", "dana")}
    assert (found.total, found.late) == (3, 3)  # all three late (see the module docstring)
    listed = [lead.item.lead_id for lead in found.leads]
    assert len(listed) == 2 and all(lead.late for lead in found.leads)
    assert sorted(due[lead] for lead in listed) == sorted(due.values())[:2]  # the soonest due


def test_the_filters_narrow_the_list_and_stop_at_the_managers_teams(served: Served) -> None:
    with signed_in_client(served, "erin") as client:
        only_fr = client.get("/app/team", params={"team": "emea_fr"}).text
        assert 'href="/app/leads/dana"' in only_fr and 'href="/app/leads/ann"' not in only_fr
        only_dev = client.get("/app/team", params={"rep": "dev"}).text
        assert 'href="/app/leads/ann"' in only_dev and 'href="/app/leads/ben"' not in only_dev
        assert client.get("/app/team", params={"team": "smb"}).status_code == 403
        assert client.get("/app/team", params={"rep": "farah"}).status_code == 403
        assert client.get("/app/team", params={"team": "emea_fr", "rep": "dev"}).status_code == 403
        unknown = client.get("/app/team", params={"team": "moon"})
        assert unknown.status_code == 400 and "no team named 'moon'" in html.unescape(unknown.text)


def test_sales_users_get_a_403_page_and_admins_look_without_acting(served: Served) -> None:
    with signed_in_client(served, "carla") as client:
        token = csrf_of(client, "/app/no-such-page")
        for path in ("/app/team", "/app/team/breaches", "/app/team/reps"):
            answer = client.get(path)
            assert answer.status_code == 403 and "for manager and admin users" in answer.text
        posted = client.post("/app/team/reassign", data={"csrf_token": token, "lead_id": "ann", "to": "carla"})
        assert posted.status_code == 403
    with signed_in_client(served, "ada") as client:
        page = client.get("/app/team").text
        assert all(f'href="/app/leads/{lead}"' in page for lead in ("ann", "ben", "cleo", "dana"))
        assert "/team/reassign" not in page
        token = csrf_of(client, "/app/team")
        before = snapshot(served)
        answer = client.post(
            "/app/team/reassign", data={"csrf_token": token, "lead_id": "ann", "to": "carla", "expected_version": "5"}
        )
        assert answer.status_code == 403 and snapshot(served) == before


def test_a_reassignment_moves_the_lead_and_restarts_its_clock(served: Served) -> None:
    with signed_in_client(served, "erin") as client:
        answer = reassign_form(client, "ann", "carla", team="enterprise")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/app/team?done=reassigned&lead=ann&to=carla&team=enterprise"
        page = client.get(answer.headers["location"]).text
    assert "Lead ann is now carla's" in html.unescape(page)
    with served.runtime.locked() as store:
        ann = state_of(store, "ann")
        rows = store._run(
            "SELECT owner, rule, cause, due_at FROM assignments WHERE lead_key = ? ORDER BY seq", [ann.lead_key]
        )
    assert (ann.owner, ann.stage) == ("carla", Stage.SAL_PENDING)
    assert rows[-1][:3] == ("carla", "erin", "manual")
    assert ann.due_at == rows[-1][3] and ann.due_at is not None and ann.due_at > served.runtime.now()


def test_bad_reassignments_are_shown_at_their_form_and_record_nothing(served: Served) -> None:
    with served.runtime.locked() as store:
        today = local_day(served.runtime.playbook().model, served.runtime.now())
        mark_away(store, served.runtime.playbook(), Absence("alice", today, today), served.runtime.now())
    before = snapshot(served)
    with signed_in_client(served, "erin") as client:
        cases = {
            "zoe": (422, "zoe is not a rep of team enterprise"),
            "farah": (422, "farah is not a rep of team enterprise (its reps: carla, dev)"),
            "": (422, "Choose the rep who should take this lead."),
        }
        for target, (status, message) in cases.items():
            answer = reassign_form(client, "ann", target)
            assert (answer.status_code, message in answer.text) == (status, True), (target, answer.text[-600:])
            assert 'aria-invalid="true"' in answer.text
        away = reassign_form(client, "dana", "alice")
        assert away.status_code == 422 and f"alice is away until {today}" in away.text
        stale = reassign_form(client, "ann", "carla", version=1)
        assert stale.status_code == 409 and "changed since you looked at it" in stale.text
        others = reassign_form(client, "cleo", "hana", version=version_of(served, "cleo"))
        assert others.status_code == 403 and "belongs to team smb; you manage emea_fr, enterprise" in others.text
        forged = client.post(
            "/app/team/reassign",
            data={"csrf_token": "forged", "lead_id": "ann", "to": "carla", "expected_version": "4"},
        )
        assert forged.status_code == 403 and "out of date" in forged.text
        unknown = reassign_form(client, "nobody", "carla", version=0)
        assert unknown.status_code == 404
    with signed_in_client(served, "ines") as client:
        assert reassign_form(client, "ann", "carla", version=version_of(served, "ann")).status_code == 403
    counts, lead_owners = before
    assert snapshot(served) == (counts, lead_owners)


def test_the_breaches_page_lists_the_teams_breaches_and_what_the_playbook_did(served: Served) -> None:
    with signed_in_client(served, "erin") as client:
        page = client.get("/app/team/breaches")
    assert page.status_code == 200
    rows = page.text.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert len(rows) == 3
    # each missed Monday's deadline (13:00 UTC) and was noticed by Tuesday's 09:00 UTC cycle:
    # 5 business hours late (Monday 14:00-18:00 Paris, Tuesday 09:00-10:00).
    reps = sorted(row.split("<td>")[2].split("</td>")[0] for row in rows)
    assert reps == ["alice", "carla", "dev"]
    assert all("5 h 00 min" in row and "given to another rep of the team" in row for row in rows)
    with signed_in_client(served, "ines") as client:
        ines_page = client.get("/app/team/breaches").text
    assert "farah" in ines_page and 'href="/app/leads/ann"' not in ines_page


def test_the_reps_page_marks_a_rep_away_and_back(served: Served) -> None:
    with signed_in_client(served, "erin") as client:
        page = client.get("/app/team/reps").text
        assert all(name in page for name in ("carla", "dev", "alice", "bruno")) and "farah" not in page
        token = csrf_of(client, "/app/team/reps")
        marked = client.post(
            "/app/team/reps/away", data={"csrf_token": token, "rep": "dev", "from": "2031-03-02", "to": "2031-03-06"}
        )
        assert marked.status_code == 303 and marked.headers["location"] == "/app/team/reps?done=away"
        assert "2031-03-02 → 2031-03-06" in client.get("/app/team/reps").text
        back = client.post("/app/team/reps/back", data={"csrf_token": token, "rep": "dev", "from": "2031-03-02"})
        assert back.status_code == 303 and "2031-03-02 →" not in client.get("/app/team/reps").text
    with served.runtime.locked() as store:
        assert LifecycleStore(store).absences() == []


def test_bad_absences_are_shown_at_the_form_and_record_nothing(served: Served) -> None:
    before = snapshot(served)
    with signed_in_client(served, "erin") as client:
        token = csrf_of(client, "/app/team/reps")

        def send(path: str, **fields: str) -> httpx.Response:
            return client.post(f"/app/team/reps/{path}", data={"csrf_token": token, **fields})

        backwards = send("away", rep="dev", **{"from": "2031-03-06", "to": "2031-03-02"})
        assert backwards.status_code == 422
        assert "The last day away (2031-03-02) is before the first (2031-03-06)" in backwards.text
        assert 'value="2031-03-06"' in backwards.text  # the form keeps what was typed
        not_a_date = send("away", rep="dev", **{"from": "next monday", "to": "2031-03-02"})
        assert not_a_date.status_code == 422 and "write it as YYYY-MM-DD" in not_a_date.text
        assert send("away", rep="farah", **{"from": "2031-03-02", "to": "2031-03-06"}).status_code == 403
        assert send("away", rep="zoe", **{"from": "2031-03-02", "to": "2031-03-06"}).status_code == 400
        no_such = send("back", rep="dev", **{"from": "2031-03-02"})
        assert no_such.status_code == 422 and "dev has no absence starting on 2031-03-02." in no_such.text
        forged = client.post(
            "/app/team/reps/away", data={"csrf_token": "x", "rep": "dev", "from": "2031-03-02", "to": "2031-03-03"}
        )
        assert forged.status_code == 403
    assert snapshot(served) == before


def test_erin_reassigns_a_late_lead_in_the_browser(browser: Browser, served: Served) -> None:
    with signed_in_page(browser, served, "erin") as page:
        expect(page).to_have_url(f"{served.url}/app/team")
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name="ben", exact=True))
        expect(row).to_contain_text("late")
        expect(row).to_contain_text("carla")
        page.get_by_label("Reassign ben to").select_option("dev")
        row.get_by_role("button", name="Reassign").click()
        expect(page.get_by_role("status")).to_contain_text("Lead ben is now dev's")
        expect(row).to_contain_text("dev")
        expect(row).not_to_contain_text("overdue")
    with served.runtime.locked() as store:
        entry = lead_history(store, "ben").entries[-1]
    assert entry.kind == "assignment" and entry.what.startswith("assigned to dev: reassigned by erin, was carla's")


# -- the command ------------------------------------------------------------------------------------
def test_the_reassign_command_moves_a_lead_or_says_in_one_line_why_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = init_workspace(tmp_path / "ws")
    hand_raisers(World(workspace.store), MONDAY)
    run_cycle(workspace.store, workspace.playbook(), MONDAY)
    workspace.close()
    base = ("-w", str(tmp_path / "ws"), "reassign", "ann", "--at", "2026-11-23T10:00:00")
    status, _, err = run(capsys, *base, "--to", "dev", "--by", "ines")
    assert status == 2 and "only erin, the manager of team enterprise, can reassign lead ann" in err
    assert len(err.strip().splitlines()) == 1
    # ann is at version 3: qualified (1), assigned (2), moved to its owner's queue (3).
    status, _, err = run(capsys, *base, "--to", "dev", "--by", "erin", "--expect-version", "2")
    assert status == 2 and "changed since you looked at it (version 2, now 3)" in err
    status, out, err = run(capsys, *base, "--to", "dev", "--by", "erin", "--expect-version", "3", "--json")
    assert status == 0, err
    assert json.loads(out) == {
        "lead_id": "ann",
        "stage": "sal_pending",
        "owner": "dev",
        "version": 4,
        "cool_off_until": None,
    }
    status, out, _ = run(capsys, *base[:-2], "--to", "carla", "--by", "erin")
    assert status == 0 and out.startswith("ann is now carla's (sal_pending); the decision is due by ")
