"""The sales pages over a real server: my queue, the lead page, decisions, reach, conflicts.

The world: nine people at acme (1500 employees, Software, FR), eight of whom asked for a demo
an hour ago and saw the pricing page three hours ago, and one at beta (300 employees, Retail, DE)
who asked for a demo. The cycle fast-tracks the eight to MQL and routes them to team enterprise in
turn (carla, dev: four each), and beta's to team smb (farah). Scores by hand (the example
playbook; a demo is 40 points that never decay; the pricing visit is 10 + 1 (a page view),
halving every 30 days: 11 x 0.5^(3/720) = 10.97):

- acme decision makers (CTO, CEO, CFO): fit 20 (>= 200 employees) + 15 + 10 (Software) = 45,
  score 96.0 (shown to one decimal); the others (Engineer, Manager, ...): fit 30, score 81.0;
- the student at acme: fit 20 + 10 - 25 = 5, no event: an inquiry, in no buying role;
- beta's Head: fit 20 + 15 = 35, score 75.

Each test that decides takes leads no other test touches, so the order of the tests is free.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, expect

from leadgate.lifecycle.facts import LeadState
from leadgate.service.cycle import run_cycle
from leadgate.service.queue import QueueItem, describe_time_left
from leadgate.store.lifecycle_store import LifecycleStore
from leadgate.web.pages import templates
from tests.browser import add_users, csrf_of, signed_in_client, signed_in_page
from tests.service_fixtures import Served, serving
from tests.worlds import World

ACME_ROLES = ("CTO", "Engineer", "Manager", "CEO", "Analyst", "Architect", "CFO", "Developer")
DECISION_MAKERS = ("CTO", "CEO", "CFO")
SCORE_BY_ROLE = {role: 96.0 if role in DECISION_MAKERS else 81.0 for role in ACME_ROLES}
ROLE_OF = {f"e{number}": role for number, role in enumerate(ACME_ROLES, start=1)}
ROUTED: dict[str, list[str]] = {}  # owner -> the acme leads routed to them, in id order (read once)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def sales_world(served: Served) -> None:
    runtime = served.runtime
    now = runtime.now()
    with runtime.locked() as store:
        world = World(store)
        world.account("acme", name="Acme", employees=1500, industry="Software", country="FR")
        world.account("beta", name="Beta", employees=300, industry="Retail", country="DE")
        for lead_id, role in ROLE_OF.items():
            world.lead(lead_id, account="acme", role=role, email=f"{lead_id}@acme.example")
            world.did(lead_id, "demo_requested", iso(now - dt.timedelta(minutes=60 + len(lead_id))))
            world.did(lead_id, "page_view", iso(now - dt.timedelta(hours=3)), path="/pricing")
        world.lead("student", account="acme", role="Student")
        world.lead("s1", account="beta", role="Head")
        world.did("s1", "demo_requested", iso(now - dt.timedelta(minutes=50)))
        world.save()
        run_cycle(store, runtime.playbook(), now)
        key = store.lead_key_of("e1")
        store._run(
            "INSERT INTO lead_predictions (lead_key, model_version, p_convert, as_of, top_factors) VALUES (?, ?, ?, ?, ?)",
            [
                key,
                3,
                0.37,
                now,
                json.dumps(
                    [
                        {"feature": "fit", "value": 45, "log_odds": 0.8},
                        {"feature": "rule_fit_3", "value": 15.0, "log_odds": 0.25},
                        {"feature": "days_since_last_event", "value": 0.125, "log_odds": -0.1},
                    ]
                ),
            ],
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("sales") / "ws", keys={}) as found:
        add_users(found)
        sales_world(found)
        for lead in sorted(ROLE_OF):
            ROUTED.setdefault(state(found, lead).owner or "", []).append(lead)
        yield found


def state(served: Served, lead_id: str) -> LeadState:
    with served.runtime.locked() as store:
        key = store.lead_key_of(lead_id)
        assert key is not None
        return LifecycleStore(store).state(key)


def leads_of(served: Served, owner: str) -> list[str]:
    """The acme leads the cycle routed to ``owner``, in id order (whatever happened to them since)."""
    return ROUTED.get(owner, [])


def facts_count(served: Served) -> dict[str, int]:
    with served.runtime.locked() as store:
        return {table: store.count(table) for table in ("transitions", "decisions", "lead_state")}


def post_decision(client: httpx.Client, lead_id: str, **fields: str) -> httpx.Response:
    page = f"/app/leads/{lead_id}"
    version = str(state_version(client, page))
    data = {"csrf_token": csrf_of(client, page), "expected_version": version, **fields}
    return client.post(f"{page}/decisions", data=data)


def state_version(client: httpx.Client, page: str) -> int:
    found = re.search(r'name="expected_version" value="(\d+)"', client.get(page).text)
    assert found is not None, "the page has no decision form"
    return int(found.group(1))


def test_the_routing_split_acme_between_carla_and_dev(served: Served) -> None:
    assert len(leads_of(served, "carla")) == 4 and len(leads_of(served, "dev")) == 4
    assert (state(served, "s1").owner, state(served, "s1").team) == ("farah", "smb")
    assert state(served, "student").stage == "inquiry"


def test_my_queue_lists_my_waiting_leads_best_first_with_time_left_and_why(served: Served) -> None:
    with signed_in_client(served, "farah") as client:
        answer = client.get("/app/queue")
    assert answer.status_code == 200
    text = answer.text
    # only her own leads (a link, not the text "e1": the page's random form token may hold that)
    assert 'href="/app/leads/s1"' in text and not re.search(r'href="/app/leads/e\d', text)
    assert "75.0" in text and "Demo request +40" in text and re.search(r"\d+ (h \d\d )?min left", text)
    with signed_in_client(served, "carla") as client:
        text = client.get("/app/queue").text
    waiting = [lead for lead in leads_of(served, "carla") if state(served, lead).stage == "sal_pending"]
    assert waiting
    rows = re.findall(r'href="/app/leads/(e\d)">e\d</a>.*?<td class="number">([\d.]+)</td>', text, re.DOTALL)
    listed = [(lead, float(score)) for lead, score in rows if lead in waiting]
    assert sorted(lead for lead, _ in listed) == waiting  # each once
    assert all(score == SCORE_BY_ROLE[ROLE_OF[lead]] for lead, score in listed)
    assert [score for _, score in listed] == sorted((score for _, score in listed), reverse=True)


@pytest.mark.parametrize(
    ("user", "lead_of", "status"),
    [
        ("carla", "carla", 200),  # her own
        ("carla", "dev", 200),  # her team's
        ("carla", "farah", 403),  # team smb
        ("dev", "carla", 200),
        ("farah", "farah", 200),
        ("farah", "carla", 403),
        ("erin", "carla", 200),  # manager of enterprise
        ("erin", "farah", 403),  # smb is ines's
        ("mia", "carla", 200),  # marketing reads every lead
        ("mia", "farah", 200),
        ("ada", "farah", 200),
    ],
)
def test_reach_by_role_and_team(served: Served, user: str, lead_of: str, status: int) -> None:
    lead = "s1" if lead_of == "farah" else leads_of(served, lead_of)[3 if lead_of == "carla" else 0]  # left open
    with signed_in_client(served, user) as client:
        answer = client.get(f"/app/leads/{lead}")
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    if status == 403:
        assert "Not yours to see" in answer.text and f"lead {lead} belongs to team" in answer.text
        assert "Traceback" not in answer.text


def test_marketing_and_admin_read_but_never_decide(served: Served) -> None:
    lead = leads_of(served, "carla")[-1]
    for user in ("mia", "ada"):
        with signed_in_client(served, user) as client:
            page = client.get(f"/app/leads/{lead}")
            assert page.status_code == 200 and "Scores" in page.text
            assert 'name="kind"' not in page.text  # no decision form
            before = facts_count(served)
            data = {"csrf_token": csrf_of(client, f"/app/leads/{lead}"), "kind": "accept", "expected_version": "0"}
            answer = client.post(f"/app/leads/{lead}/decisions", data=data)
            assert answer.status_code == 403 and "for sales and manager users" in answer.text
            assert facts_count(served) == before


def test_an_unknown_lead_is_a_404_page(served: Served) -> None:
    with signed_in_client(served, "carla") as client:
        answer = client.get("/app/leads/nobody-here")
    assert answer.status_code == 404 and "there is no lead with the id nobody-here" in answer.text


def test_the_lead_page_shows_profile_account_scores_prediction_and_story(served: Served) -> None:
    with signed_in_client(served, "mia") as client:
        text = client.get("/app/leads/e1").text
    # profile and account
    assert "CTO" in text and "e1@acme.example" in text and "Acme" in text and "1500" in text
    # scores: fit 45 + engagement 40 (demo) + pricing visit (10, three hours old: barely decayed)
    assert "Fit <strong>45.0</strong>" in text and "score <strong>96.0</strong>" in text
    assert "Demo request" in text and "+40.0" in text and "Decision maker" in text and "+15.0" in text
    # the prediction inserted for e1, and its factor
    assert "37%" in text and "Model v3" in text and "raises the chance" in text
    # a rule's signal by the rule's label (fit_3 is the third fit rule: "Decision maker"), values rounded
    assert "points from Decision maker (fit_3)" in text and "days since last event" in text
    assert ">0.12<" in text and "lowers the chance (-0.10 log-odds)" in text
    # the story: qualification, routing
    assert "inquiry → mql" in text and "assigned to" in text and "demo requested" in text
    with signed_in_client(served, "mia") as client:
        other = client.get("/app/leads/s1").text
    assert "No prediction for this lead" in other


def test_the_buying_group_names_who_fills_each_role_and_what_is_missing(served: Served) -> None:
    with signed_in_client(served, "mia") as client:
        text = client.get("/app/leads/e2").text
    # decision makers e1 (CTO), e4 (CEO), e7 (CFO); champions e3, e6; users e2, e5, e8; nobody in Finance;
    # the student fills no role. A rejected lead's engagement restarts: it may fall to "not engaged".
    assert re.search(r"Buying group: 3 of 4 roles engaged", text)
    assert re.search(r"✓ present</span>\s*<strong>decision maker</strong>\s*: [e147, ]+", text)
    assert re.search(r"✗ missing</span>\s*<strong>finance</strong>", text)
    assert "9 contacts" in text


def test_a_forged_csrf_token_changes_nothing(served: Served) -> None:
    lead = leads_of(served, "dev")[0]
    with signed_in_client(served, "dev") as client:
        before = facts_count(served)
        version = state_version(client, f"/app/leads/{lead}")
        answer = client.post(
            f"/app/leads/{lead}/decisions",
            data={"csrf_token": "forged", "kind": "accept", "expected_version": str(version)},
        )
    assert answer.status_code == 403 and "did not come from leadgate" in answer.text
    assert facts_count(served) == before and state(served, lead).stage == "sal_pending"


def test_a_rejection_without_a_reason_is_refused_at_its_form(served: Served) -> None:
    lead = leads_of(served, "dev")[1]
    with signed_in_client(served, "dev") as client:
        before = facts_count(served)
        answer = post_decision(client, lead, kind="reject", reason="", note="they went quiet")
    assert answer.status_code == 422
    assert 'id="reject-error"' in answer.text and "Choose a reason for rejecting this lead" in answer.text
    assert "they went quiet" in answer.text  # the note typed is kept
    assert facts_count(served) == before and state(served, lead).stage == "sal_pending"


def test_qualifying_needs_the_whole_checklist(served: Served) -> None:
    lead = leads_of(served, "dev")[2]
    with signed_in_client(served, "dev") as client:
        accepted = post_decision(client, lead, kind="accept")
        assert accepted.status_code == 303
        assert accepted.headers["location"] == f"/app/leads/{lead}?done=accept"
        page = client.get(accepted.headers["location"]).text
        assert "Accepted: the lead is yours" in page and 'aria-labelledby="qualify-title"' in page
        before = facts_count(served)
        data = {"kind": "qualify", "csrf_token": csrf_of(client, f"/app/leads/{lead}")}
        data["expected_version"] = str(state(served, lead).version)
        half = client.post(f"/app/leads/{lead}/decisions", data={**data, "checklist": ["budget", "need"]})
        assert half.status_code == 422 and "missing: authority, timeline" in half.text
        assert 'value="budget" checked' in half.text  # what was ticked stays ticked
        assert facts_count(served) == before
        full = client.post(
            f"/app/leads/{lead}/decisions", data={**data, "checklist": ["budget", "authority", "need", "timeline"]}
        )
        assert full.status_code == 303
    assert state(served, lead).stage == "sql"


def test_disqualifying_takes_a_reason_of_the_playbook(served: Served) -> None:
    lead = leads_of(served, "dev")[3]
    with signed_in_client(served, "dev") as client:
        unknown = post_decision(client, lead, kind="disqualify", reason="bored")
        assert unknown.status_code == 422 and "disqualify needs a reason among not_icp" in unknown.text
        answer = post_decision(client, lead, kind="disqualify", reason="competitor", note="works at a rival")
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/app/leads/{lead}?done=disqualify"
        # nobody's any more (out of dev's reach, as in the API), but dev handled it: readable, no decision
        page = client.get(answer.headers["location"]).text
        assert "Disqualified: the lead is out for good and has left your queue." in page
        assert "sal_pending → disqualified" in page and 'name="kind"' not in page
        assert f'href="/app/leads/{lead}"' not in client.get("/app/queue").text
    assert state(served, lead).stage == "disqualified"
    with signed_in_client(served, "farah") as client:  # another team's rep never handled it
        assert client.get(f"/app/leads/{lead}").status_code == 403
    with signed_in_client(served, "mia") as client:
        page = client.get(f"/app/leads/{lead}").text
    assert "disqualify, reason competitor, “works at a rival”" in page and "sal_pending → disqualified" in page
    assert 'name="kind"' not in page  # a closed lead offers no decision (and marketing never decides)


def test_a_rep_accepts_one_lead_and_rejects_another_in_the_browser(browser: Browser, served: Served) -> None:
    first, second = leads_of(served, "carla")[:2]
    with signed_in_page(browser, served, "carla") as page:
        expect(page).to_have_url(f"{served.url}/app/queue")
        page.get_by_role("link", name=first, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"Lead {first}")
        page.get_by_role("button", name="Accept", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Accepted")
        expect(page.locator("h1 .badge")).to_have_text("sal")
        page.get_by_role("link", name="My queue").click()
        page.get_by_role("link", name=second, exact=True).click()
        reject = page.get_by_role("form", name="Reject")
        reject.get_by_label("Reason").select_option(label="Bad timing")
        reject.get_by_label("Note").fill("project starts next year")
        reject.get_by_role("button", name="Reject").click()
        # recycled, the lead is nobody's now, but carla handled it: she reads its story, and decides nothing
        expect(page.get_by_role("status")).to_contain_text("Rejected, with its reason: the lead has left your queue")
        history = page.locator("section", has=page.get_by_role("heading", name="Stage history"))
        expect(history).to_contain_text("sal_pending → rejected: rejected by carla: Bad timing")
        expect(history).to_contain_text("reject, reason bad_timing, “project starts next year”")
        expect(history).to_contain_text("rejected → recycled: bad_timing: back to nurture")
        expect(page.get_by_role("button", name="Reject", exact=True)).to_have_count(0)
        expect(page.get_by_role("button", name="Disqualify", exact=True)).to_have_count(0)  # recycled is open
        page.get_by_role("link", name="My queue").click()
        expect(page.get_by_role("link", name=second, exact=True)).to_have_count(0)
        page.get_by_role("link", name=first, exact=True).click()  # accepted, to qualify
        history = page.locator("section", has=page.get_by_role("heading", name="Stage history"))
        expect(history).to_contain_text("sal_pending → sal: accepted by carla")
    assert (state(served, first).stage, state(served, second).stage) == ("sal", "recycled")


def test_a_rep_of_another_team_gets_a_403_page_in_the_browser(browser: Browser, served: Served) -> None:
    lead = leads_of(served, "carla")[-1]
    with signed_in_page(browser, served, "farah") as page:
        answer = page.goto(f"/app/leads/{lead}")
        assert answer is not None and answer.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("Not yours to see")
        expect(page.get_by_role("alert")).to_contain_text(f"lead {lead} belongs to team enterprise")


def test_two_people_accepting_the_same_lead_one_succeeds_the_other_sees_the_conflict(
    browser: Browser, served: Served
) -> None:
    lead = leads_of(served, "carla")[2]
    with signed_in_page(browser, served, "carla") as carla, signed_in_page(browser, served, "erin") as erin:
        carla.goto(f"/app/leads/{lead}")
        erin.goto(f"/app/leads/{lead}")
        carla.get_by_role("button", name="Accept", exact=True).click()
        expect(carla.get_by_role("status")).to_contain_text("Accepted")
        before = facts_count(served)
        with erin.expect_response(lambda response: response.request.method == "POST") as posted:
            erin.get_by_role("button", name="Accept", exact=True).click()
        assert posted.value.status == 409
        alert = erin.get_by_role("alert")
        expect(alert).to_contain_text("Someone else acted on this lead first; your accept was not recorded.")
        expect(alert).to_contain_text("it is sal (owner: carla)")
        expect(alert).to_contain_text("Latest decision: accept by carla")
        expect(erin.locator("h1 .badge")).to_have_text("sal")
        assert facts_count(served) == before


def test_a_lead_past_its_sla_is_marked_late_in_the_queue() -> None:
    """The queue's template with one lead on time and one overdue (minutes as rep_queue gives them)."""
    due = dt.datetime(2026, 11, 23, 13, 0)
    common = {"account_name": "Acme", "stage": "sal_pending", "owner": "carla", "team": "enterprise", "queue": "rep"}
    scores = {"score": 90.0, "fit": 50.0, "engagement": 40.0, "assigned_at": due, "due_at": due, "breaches": 0}
    items = [
        QueueItem(
            lead_id="on-time", sla_minutes_left=150, hot_because="Demo request +40", version=2, **common, **scores
        ),
        QueueItem(lead_id="late", sla_minutes_left=-45, hot_because="Demo request +40", version=2, **common, **scores),
    ]
    html = templates.env.get_template("sales_queue.html").render(
        viewer=None, navigation=(), base="/app", path="/queue", csrf_token="",
        waiting=items, accepted=[], time_left=describe_time_left, as_of=due,
    )  # fmt: skip
    cells = re.findall(r"<td( class=\"late\")?>\s*(\d+ h \d\d min left|overdue by \d+ min)", html)
    assert cells == [("", "2 h 30 min left"), (' class="late"', "overdue by 45 min")]


UNLABELLED_FIELDS = """() => Array.from(document.querySelectorAll('input, select, textarea'))
    .filter(field => !['hidden', 'submit'].includes(field.type))
    .filter(field => !(field.labels && field.labels.length) && !field.getAttribute('aria-label'))
    .map(field => field.name || field.id || field.outerHTML)"""


def test_every_form_field_of_the_main_pages_has_a_label_and_the_first_tab_skips_to_the_content(
    browser: Browser, served: Served
) -> None:
    lead = ROUTED["carla"][-1]
    pages = {
        "carla": ["/app/queue", f"/app/leads/{lead}"],
        "erin": ["/app/team", "/app/team/breaches", "/app/team/reps"],
        "mia": ["/app/funnel", "/app/rules", "/app/playbook", f"/app/leads/{lead}"],
    }
    for user, paths in pages.items():
        with signed_in_page(browser, served, user) as page:
            for path in paths:
                page.goto(path)
                assert page.locator("form").count() > 0 or path.startswith("/app/leads"), path
                assert page.evaluate(UNLABELLED_FIELDS) == [], f"{path} as {user}"
                page.keyboard.press("Tab")
                assert page.evaluate("document.activeElement.textContent") == "Skip to the content", path
