"""The marketer's pages: the funnel, rules and reasons, and the playbook (check, preview, publish, roll back).

Two small worlds on the example playbook (``fit >= 30 and engagement >= 40`` makes an MQL):

- March 2026 (the funnel and the rules): m1..m4 first known on 2 March; m1, m2, m3 became MQL on
  3 March (points from the "Mid-market or larger" rule, ``fit_1``); m1 and m2 accepted (SAL) on
  4 March; m3 rejected by carla on 5 March for no budget; m1 became SQL on 10 March.
- The last weeks (the preview): ann and bob work at acme (500 employees: 20 points) and are CTOs
  (15 points), so their fit is 35. ann sent the contact-sales form (40 points, no decay) 30 days
  ago: engagement 40; she became SQL 20 days ago. bob sent the form and requested a demo (40 more,
  no decay) 60 days ago: engagement 80. A draft asking ``engagement >= 60`` passes bob only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, expect

from leadgate.errors import Issue, TooLarge
from leadgate.service.playbooks import PlaybookVersions
from leadgate.web.playbook_draft import MAX_DRAFT_CHARACTERS, Draft, check_draft
from tests.browser import add_users, csrf_of, signed_in_client, signed_in_page
from tests.service_fixtures import Served, serving, wait_until
from tests.worlds import Handoff, World

EXAMPLE = (Path(__file__).parents[1] / "src/leadgate/templates/playbook.yaml").read_text(encoding="utf-8")
MQL_LINE = 'when: "fit >= 30 and engagement >= 40"'
THRESHOLD_LINE = EXAMPLE.splitlines().index(next(line for line in EXAMPLE.splitlines() if MQL_LINE in line)) + 1


def edited(threshold: str, version: int = 2) -> str:
    """The example playbook with another MQL engagement threshold and version number."""
    text = EXAMPLE.replace(MQL_LINE, f'when: "fit >= 30 and engagement >= {threshold}"')
    return text.replace("\nversion: 1\n", f"\nversion: {version}\n")


def march_world(world: World) -> None:
    store = world.store
    for lead in ("m1", "m2", "m3", "m4"):
        world.lead(lead, learnt_at="2026-03-02T09:00:00", role="Engineer")
    world.save()
    mid_market = {"fit_1": 20.0}
    story = Handoff(store)
    for lead in ("m1", "m2", "m3"):
        story.moved(lead, "mql", "2026-03-03T10:00:00", mid_market)
    story.moved("m1", "sal", "2026-03-04T10:00:00").moved("m2", "sal", "2026-03-04T11:00:00")
    story.moved("m3", "rejected", "2026-03-05T10:00:00")
    story.decided("m3", "reject", "2026-03-05T10:00:00", reason="no_budget", actor="carla")
    story.moved("m1", "sql", "2026-03-10T10:00:00").save()


def recent_world(world: World, now: dt.datetime) -> None:
    def ago(days: int) -> str:
        return f"{now - dt.timedelta(days=days):%Y-%m-%dT%H:%M:%S}"

    world.account("acme", employees=500, industry="Retail", country="FR")
    world.lead("ann", account="acme", role="CTO").lead("bob", account="acme", role="CTO")
    world.did("ann", "contact_sales_form", ago(30))
    world.did("bob", "contact_sales_form", ago(60)).did("bob", "demo_requested", ago(60))
    world.save()
    Handoff(world.store).moved("ann", "sql", ago(20)).save()


@contextmanager
def world_served(root: Path) -> Iterator[Served]:
    """A server on the example playbook with both worlds, the standard users and a marketing API key.

    The worker's first cycle (at start) is waited for and the next is an hour away, so the
    recorded stages are the worlds' until a publish wakes the worker.
    """
    with serving(root, keys={"marketing": ("marketing", None, None)}, idle_seconds=3600) as served:
        add_users(served)
        wait_until(lambda: served.runtime.worker.cycles >= 1, what="the first cycle")
        with served.runtime.locked() as store:
            world = World(store)  # one world for both: fact ids are unique within a world
            march_world(world)
            recent_world(world, served.runtime.now())
        yield served


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the tests that change nothing."""
    with world_served(tmp_path_factory.mktemp("marketing") / "ws") as served:
        yield served


@pytest.fixture
def own(tmp_path: Path) -> Iterator[Served]:
    """A server of its own, for a test that publishes or rolls back."""
    with world_served(tmp_path / "ws") as served:
        yield served


def rows_of(page: str) -> list[list[str]]:
    """The cells of every table row of a page, as text."""
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        found.append([re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells])
    return found


def in_force(served: Served) -> tuple[int, str | None]:
    """The version in force and who published it, as the history says."""
    with served.runtime.locked() as store:
        rows = PlaybookVersions(store, served.workspace.playbook_path).listing(served.runtime.now())
    live = [row for row in rows if row.in_force]
    return live[0].version, live[0].published_by


def test_the_funnel_shows_the_march_figures_worked_out_by_hand(shared: Served) -> None:
    """Of the 4 leads first known in March, 3 qualified (75%), 2 were accepted, 1 became SQL;
    the one rejection was for no budget."""
    with signed_in_client(shared, "mia") as client:
        answer = client.get("/app/funnel", params={"from": "2026-03-01", "to": "2026-03-31", "cohort": "month"})
    assert answer.status_code == 200
    rows = rows_of(answer.text)
    for expected in (
        ["inquiry", "4", "100.0%"],
        ["qualified", "3", "75.0%"],
        ["sal", "2", "50.0%"],
        ["sql", "1", "25.0%"],
        ["won", "0", "0.0%"],
        ["no_budget", "1", "100.0%", "100.0%"],
    ):
        assert expected in rows, expected
    assert next(row[:4] for row in rows if row and row[0] == "mql → sal") == ["mql → sal", "3", "2", "66.7%"]
    assert "4 leads first known from 2026-03-01 to 2026-03-31 included" in re.sub(r"\s+", " ", answer.text)


def test_the_funnel_draws_its_charts_with_plotly_served_by_the_app(shared: Served) -> None:
    with signed_in_client(shared, "mia") as client:
        page = client.get("/app/funnel", params={"from": "2026-03-01", "to": "2026-03-31"}).text
        script = client.get("/app/assets/plotly.min.js")
    assert '<script src="/app/assets/plotly.min.js"></script>' in page
    assert "cdn.plot.ly" not in page and "https://" not in page.split("<main")[1].split("Plotly.newPlot")[0]
    assert page.count("Plotly.newPlot") >= 7  # funnel, trends, velocity, Pareto, calibration, SLA, volume
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert len(script.content) > 1_000_000 and b"plotly.js" in script.content[:2000]


def test_an_empty_window_says_so_and_draws_no_chart(shared: Served) -> None:
    with signed_in_client(shared, "ada") as client:
        page = client.get("/app/funnel", params={"from": "2020-01-01", "to": "2020-01-31"}).text
    assert "No lead was first known in this window" in page
    assert "plotly.min.js" not in page and "Plotly.newPlot" not in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "March"}, "From &#39;March&#39; is not a date: write it like 2026-11-26"),
        ({"from": "2026-04-01", "to": "2026-03-01"}, "the From date 2026-04-01 is after the To date 2026-03-01"),
        ({"by": "colour"}, "the funnel can be split by source, medium"),
        ({"cohort": "year"}, "cohorts are by week or by month"),
    ],
)
def test_a_bad_funnel_form_is_a_400_page_saying_what_was_wrong(
    shared: Served, query: dict[str, str], message: str
) -> None:
    with signed_in_client(shared, "mia") as client:
        answer = client.get("/app/funnel", params=query)
    assert answer.status_code == 400 and message in answer.text
    assert "Traceback" not in answer.text


def test_the_funnel_split_by_a_dimension_shows_its_table(shared: Served) -> None:
    with signed_in_client(shared, "mia") as client:
        page = client.get("/app/funnel", params={"from": "2026-03-01", "to": "2026-03-31", "by": "owner"}).text
    assert "Conversion by owner" in page
    assert '<option value="owner" selected>' in page


def test_the_rules_page_shows_rule_rates_and_reasons_worked_out_by_hand(shared: Served) -> None:
    """fit_1 gave points in the 3 March episodes: 2 of the 3 decided were accepted, 1 of 3 became
    SQL (as did 1 of all 3 episodes: lift 1.00); carla's one rejection was for no budget."""
    with signed_in_client(shared, "mia") as client:
        page = client.get("/app/rules").text
        only_two = client.get("/app/rules", params={"version": "2"})
    rows = rows_of(page)
    assert ["Mid-market or larger (fit_1)", "20", "3", "66.7%", "33.3%", "0.0%", "1.00"] in rows
    assert ["carla", "no_budget", "1"] in rows
    assert "3 qualification episodes (3 closed); base SQL rate 33.3%" in re.sub(r"\s+", " ", page)
    assert only_two.status_code == 200 and "0 qualification episodes" in only_two.text


@pytest.mark.parametrize("name", ["mia", "ada"])
def test_every_marketing_page_opens_for_marketing_and_admin(shared: Served, name: str) -> None:
    with signed_in_client(shared, name) as client:
        for path, heading in (
            ("/app/funnel", "Funnel"),
            ("/app/rules", "Rules and reasons"),
            ("/app/playbook", "Playbook"),
        ):
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert f"<h1>{heading}</h1>" in answer.text
        assert client.get("/app/").headers["location"] == "/app/funnel"


@pytest.mark.parametrize("name", ["carla", "erin"])
def test_sales_and_managers_get_a_403_page_and_change_nothing(shared: Served, name: str) -> None:
    with signed_in_client(shared, name) as client:
        for path in ("/app/funnel", "/app/rules", "/app/playbook"):
            answer = client.get(path)
            assert answer.status_code == 403 and "this page is for marketing and admin users" in answer.text, path
        token = csrf_of(client, "/app/funnel")  # the 403 page has the sign-out form
        for action, fields in (("publish", {"draft": edited("60")}), ("rollback", {"version": "1"})):
            answer = client.post(f"/app/playbook/{action}", data={"csrf_token": token, **fields})
            assert answer.status_code == 403, action
    assert in_force(shared) == (1, None)
    assert "engagement >= 40" in shared.workspace.playbook_path.read_text(encoding="utf-8")


def test_a_forged_csrf_token_publishes_nothing(shared: Served) -> None:
    with signed_in_client(shared, "mia") as client:
        answer = client.post("/app/playbook/publish", data={"csrf_token": "forged", "draft": edited("60")})
    assert answer.status_code == 403 and "out of date" in answer.text
    assert in_force(shared) == (1, None)


def test_a_bad_draft_publishes_nothing_and_comes_back_with_its_error_at_its_line(shared: Served) -> None:
    draft = edited("sixty")
    with signed_in_client(shared, "mia") as client:
        token = csrf_of(client, "/app/playbook")
        answer = client.post("/app/playbook/publish", data={"csrf_token": token, "draft": draft.replace("\n", "\r\n")})
    assert answer.status_code == 422
    page = answer.text
    assert f'<a href="#line-{THRESHOLD_LINE}">Line {THRESHOLD_LINE}, column 40</a>: <code>PB101</code>' in page
    assert f'<span id="line-{THRESHOLD_LINE}" class="line bad">' in page
    assert page.count('class="line bad"') == 1
    assert "engagement &gt;= sixty" in page.split("<textarea")[1]  # the draft is kept in the editor
    assert "nothing was published" in page
    assert in_force(shared) == (1, None)
    assert "engagement >= 40" in shared.workspace.playbook_path.read_text(encoding="utf-8")


def test_checking_a_valid_draft_says_what_it_changes_and_whether_its_version_is_free(shared: Served) -> None:
    with signed_in_client(shared, "mia") as client:
        token = csrf_of(client, "/app/playbook")
        fresh = client.post("/app/playbook/check", data={"csrf_token": token, "draft": edited("60")})
        taken = client.post("/app/playbook/check", data={"csrf_token": token, "draft": edited("60", version=1)})
    assert fresh.status_code == 200
    assert "The draft is valid: acme-saas version 2" in fresh.text
    assert "engagement &gt;= 60" in fresh.text.split("What the draft changes")[1].split("</ul>")[0]
    assert "version number is taken: set <code>version: 2</code>" in taken.text
    assert "version number is taken" not in fresh.text


def test_publish_then_roll_back_keep_the_history_and_the_server_in_step(own: Served) -> None:
    with signed_in_client(own, "mia") as client:
        token = csrf_of(client, "/app/playbook")
        published = client.post("/app/playbook/publish", data={"csrf_token": token, "draft": edited("60")})
        assert published.status_code == 303 and published.headers["location"] == "/app/playbook?published=2"
        assert in_force(own) == (2, "mia")
        assert own.runtime.playbook().version == 2
        compared = client.get("/app/playbook", params={"from": "1", "to": "2"}).text
        assert "engagement &gt;= 60" in compared.split("From version 1 to version 2")[1].split("</ul>")[0]
    with signed_in_client(own, "ada") as client:
        page = client.get("/app/playbook").text
        assert page.count("Roll back to version") == 1 and "Roll back to version 1</button>" in page
        token = csrf_of(client, "/app/playbook")
        rolled = client.post("/app/playbook/rollback", data={"csrf_token": token, "version": "1"})
        assert rolled.status_code == 303 and rolled.headers["location"] == "/app/playbook?rolled_back=1"
        page = client.get(rolled.headers["location"]).text
        assert "Rolled back: version 1 is in force again." in page
        assert "Rolled back by ada" in page and "In force: acme-saas version 1" in page
        again = client.post("/app/playbook/rollback", data={"csrf_token": token, "version": "1"})
        assert again.status_code == 400 and "version 1 is already the playbook in force" in again.text
    assert in_force(own) == (1, "ada")
    assert own.runtime.playbook().version == 1
    with own.client("marketing") as api:
        assert api.get("/v1/playbook").json()["version"] == 1
        assert [row["action"] for row in api.get("/v1/playbook/versions").json()] == ["initial", "publish", "rollback"]


def test_a_taken_version_number_is_a_conflict_that_keeps_the_draft(own: Served) -> None:
    with signed_in_client(own, "mia") as client:
        token = csrf_of(client, "/app/playbook")
        answer = client.post("/app/playbook/publish", data={"csrf_token": token, "draft": edited("60", version=1)})
    assert answer.status_code == 409
    assert "version 1 is not above the published versions" in answer.text and "Nothing was published" in answer.text
    assert "engagement &gt;= 60" in answer.text.split("<textarea")[1]
    assert in_force(own) == (1, None)


def test_the_marketers_flow_in_a_browser(browser: Browser, own: Served) -> None:
    """mia raises the MQL threshold, mistypes it, sees the error at its line, fixes it, previews
    (ann, who converted, is lost: 2 MQL become 1, precision 50% becomes 0%), publishes; version 2 is in force."""
    with signed_in_page(browser, own, "mia") as page:
        page.get_by_role("link", name="Playbook").click()
        expect(page.get_by_role("heading", name="In force: acme-saas version 1")).to_be_visible()
        editor = page.get_by_label("Playbook draft (YAML)")
        expect(editor).to_have_value(EXAMPLE)
        editor.fill(edited("sixty"))
        page.get_by_role("button", name="Check the draft").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text(f"Line {THRESHOLD_LINE}, column 40: PB101 put text in quotes")
        alert.get_by_role("link", name=f"Line {THRESHOLD_LINE}, column 40").click()
        expect(page).to_have_url(re.compile(f"#line-{THRESHOLD_LINE}$"))
        bad_line = page.locator(f"#line-{THRESHOLD_LINE}")
        expect(bad_line).to_have_class("line bad")
        expect(bad_line).to_contain_text("engagement >= sixty")
        expect(page.get_by_label("Playbook draft (YAML)")).to_have_value(edited("sixty"))

        page.get_by_label("Playbook draft (YAML)").fill(edited("60"))
        page.get_by_role("button", name="Preview against version 1").click()
        preview = page.locator("section.preview")

        def figure(label: str) -> Locator:
            return preview.get_by_role("row").filter(has=page.get_by_role("rowheader", name=label, exact=True))

        expect(figure("MQL")).to_have_text(re.compile(r"MQL\s*2\s*1"))
        expect(figure("precision")).to_have_text(re.compile(r"precision\s*50.0%\s*0.0%"))
        expect(figure("recall")).to_have_text(re.compile(r"recall\s*100.0%\s*0.0%"))
        expect(preview).to_contain_text("Converted leads the draft would lose (1)")
        expect(preview.get_by_role("cell", name="ann", exact=True)).to_be_visible()

        page.get_by_role("button", name="Publish the draft").click()
        expect(page.get_by_role("status")).to_have_text("Version 2 is published and in force.")
        expect(page.get_by_role("heading", name="In force: acme-saas version 2")).to_be_visible()
        expect(page.locator("#in-force + p")).to_contain_text("Published by mia")
    assert in_force(own) == (2, "mia")
    with own.client("marketing") as api:
        answer = api.get("/v1/playbook").json()
    assert answer["version"] == 2 and answer["published_by"] == "mia"
    assert 'engagement >= 60"' in answer["text"]


def test_a_draft_listing_puts_each_issue_on_its_line() -> None:
    """Line ends from a browser (CR LF) are the file's; an issue beyond the last line (a missing
    key reported at the end) is shown on the last line; too large a draft is refused."""
    draft = check_draft("name: x\r\nversion: one\r\n", "playbook.yaml")
    assert not draft.valid and draft.text == "name: x\nversion: one\n"
    bad = [line.number for line in draft.listing() if line.issues]
    assert bad == sorted({issue.line for issue in draft.issues}) and 2 in bad
    past_the_end = Draft("a\nb", None, [Issue("playbook.yaml", 9, 1, "PB001", "something")])
    assert [(line.number, len(line.issues)) for line in past_the_end.listing()] == [(1, 0), (2, 1)]
    assert check_draft(EXAMPLE, "playbook.yaml").valid
    with pytest.raises(TooLarge, match="over 1024 KB"):
        check_draft("#" * (MAX_DRAFT_CHARACTERS + 1), "playbook.yaml")
