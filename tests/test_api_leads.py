"""The REST API for leads, decisions, queues, stages and erasure, over a real server.

The facts arrive as Segment messages through the ingest key, the server's own worker
qualifies and routes the leads, and each test asks the API what a caller would.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest

from leadgate.api.handoff import DecisionKind
from leadgate.lifecycle.decisions import DECISION_KINDS
from leadgate.routing.assign import Absence
from leadgate.routing.sla import local_day
from leadgate.service.reps import mark_away
from leadgate.service.scoring import utc_now
from tests.conftest import ENGINES
from tests.service_fixtures import STANDARD_KEYS, Served, database_on, serving, wait_until

KEYS = {
    **STANDARD_KEYS,
    "dev": ("sales", "dev", None),
    "ines": ("manager", "ines", None),
}
REJECT_REASONS = "not_icp, student, competitor, duplicate, no_budget, bad_timing, not_reachable, bad_contact_data"


class Story:
    """Segment messages, written like a story: who works where, and what they did when."""

    def __init__(self) -> None:
        self.now = utc_now()
        self.messages: list[dict[str, Any]] = []
        self.accounts: dict[str, dict[str, Any]] = {}

    def _send(self, kind: str, hours_ago: float, **fields: Any) -> None:
        moment = self.now - dt.timedelta(hours=hours_ago)
        self.messages.append(
            {"type": kind, "messageId": str(uuid.uuid4()), "timestamp": moment.isoformat() + "Z", **fields}
        )

    def account(self, account_id: str, **traits: Any) -> Story:
        self.accounts[account_id] = traits
        return self

    def lead(self, user_id: str, account: str, **traits: Any) -> Story:
        self._send("identify", 48, userId=user_id, traits=traits)
        self._send("group", 48, userId=user_id, groupId=account, traits=self.accounts[account])
        return self

    def did(self, user_id: str, event: str, hours_ago: float = 1, **properties: Any) -> Story:
        self._send("track", hours_ago, userId=user_id, event=event, properties=properties)
        return self

    def visited(self, user_id: str | None, path: str, hours_ago: float, **extra: Any) -> Story:
        ids = {"userId": user_id} if user_id else {}
        self._send("page", hours_ago, **ids, **extra, properties={"path": path})
        return self


def post(served: Served, story: Story) -> None:
    with served.client("ingest") as http:
        response = http.post("/v1/batch", json={"batch": story.messages})
    assert response.status_code == 200, response.text


def listed(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = http.get("/v1/leads", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return list(response.json()["leads"])


def ids(rows: list[dict[str, Any]]) -> set[str]:
    return {row["lead_id"] for row in rows}


def stage_count(served: Served, stage: str) -> int:
    with served.client("admin") as http:
        return len(listed(http, stage=stage))


def away(served: Served, *reps: str) -> None:
    """Mark reps absent from yesterday to tomorrow: routing skips them."""
    playbook = served.runtime.playbook()
    today = local_day(playbook.model, utc_now())
    with served.runtime.locked() as store:
        for rep in reps:
            absence = Absence(rep, today - dt.timedelta(days=1), today + dt.timedelta(days=1))
            mark_away(store, playbook, absence, utc_now())


# -- a world to read: four hand-raisers routed, twenty browsers who never qualify ----------------------------

BROWSERS = [f"lead-{number:02d}" for number in range(1, 21)]
HAND_RAISERS = {"ann", "dan", "cleo", "ben"}
EVERYONE = HAND_RAISERS | set(BROWSERS)


def read_world() -> Story:
    """Scores by hand (score = fit + engagement; a demo request is 40 points that never decay):

    - ann: acme (>= 200 employees 20, Software 10), CTO 15, budget 20k 15 -> fit 60, score 100
    - dan: acme, CFO 15 -> fit 45, score 85
    - cleo: gamma (300, Retail, FR), CEO -> fit 35, score 75; ben: beta (300, Retail, DE), Head -> 75
    - the browsers work at delta (60 employees: small business 10, Retail, DE): fit 10, and
      lead-04/08/..: nothing (10); lead-01/05/..: one demo (50); lead-03/07/..: two demos (90);
      lead-02/06/..: page views a few days old (10 and a decayed fraction).

    The hand-raisers fast-track to MQL (demo within 7 days, fit >= 20) and are routed: ann and dan
    to enterprise (carla and dev, round robin), cleo to emea_fr, ben to smb, whose reps are all away
    in this world, so he waits in the manager's queue (ines). No browser reaches fit 30 or 20.
    """
    story = Story()
    story.account("acme", employees=1500, industry="Software", country="FR")
    story.account("beta", employees=300, industry="Retail", country="DE")
    story.account("gamma", employees=300, industry="Retail", country="FR")
    story.account("delta", employees=60, industry="Retail", country="DE")
    story.lead("ann", "acme", role="CTO", budget_estimate=20000).did("ann", "Demo Requested")
    story.lead("dan", "acme", role="CFO").did("dan", "Demo Requested")
    story.lead("cleo", "gamma", role="CEO").did("cleo", "Demo Requested")
    story.lead("ben", "beta", role="Head").did("ben", "Demo Requested")
    for number, lead in enumerate(BROWSERS, start=1):
        story.lead(lead, "delta", role="Engineer")
        if number % 4 == 1:
            story.did(lead, "Demo Requested")
        elif number % 4 == 3:
            story.did(lead, "Demo Requested", hours_ago=2).did(lead, "Demo Requested", hours_ago=3)
        elif number % 4 == 2:
            for day in range(1, number // 2 + 2):
                story.visited(lead, f"/blog/{day}", hours_ago=24 * day + number)
    return story


@pytest.fixture(scope="module", params=ENGINES)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with (
        database_on(request.param, request) as database,
        serving(tmp_path_factory.mktemp("leads") / "ws", keys=KEYS, database=database) as running,
    ):
        away(running, "farah", "gus", "hana")
        post(running, read_world())
        wait_until(lambda: stage_count(running, "sal_pending") == 4, 60, "the four hand-raisers to be routed")
        with running.client("admin") as http:
            wait_until(lambda: len(listed(http)) == 24, 30, "every lead to be scored")
        yield running


def owners(served: Served) -> dict[str, str | None]:
    with served.client("admin") as http:
        return {row["lead_id"]: row["owner"] for row in listed(http)}


def test_the_listing_answers_each_lead_with_its_stage_owner_and_scores(served: Served) -> None:
    with served.client("marketing") as http:
        rows = {row["lead_id"]: row for row in listed(http)}
    assert set(rows) == EVERYONE
    ann = rows["ann"]
    assert (ann["stage"], ann["team"], ann["fit"], ann["engagement"], ann["score"]) == (
        "sal_pending",
        "enterprise",
        60,
        40,
        100,
    )
    assert ann["owner"] in ("carla", "dev") and ann["since"] is not None and ann["due_at"] is not None
    assert {rows[name]["owner"] for name in ("ann", "dan")} == {"carla", "dev"}  # round robin
    assert rows["cleo"]["team"] == "emea_fr" and rows["cleo"]["owner"] in ("alice", "bruno")
    assert (rows["ben"]["owner"], rows["ben"]["team"], rows["ben"]["due_at"]) == ("ines", "smb", None)
    quiet = rows["lead-04"]
    assert (quiet["stage"], quiet["owner"], quiet["team"], quiet["since"], quiet["score"]) == (
        "inquiry",
        None,
        None,
        None,
        10,
    )
    assert 10 < rows["lead-02"]["score"] < 12  # two page views, a day or more old


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"stage": "sal_pending"}, HAND_RAISERS),
        ({"stage": ["sal_pending", "inquiry"]}, EVERYONE),
        ({"stage": "inquiry", "min_score": 80}, {"lead-03", "lead-07", "lead-11", "lead-15", "lead-19"}),
        ({"min_score": 80}, {"ann", "dan", "lead-03", "lead-07", "lead-11", "lead-15", "lead-19"}),
        ({"max_score": 10}, {"lead-04", "lead-08", "lead-12", "lead-16", "lead-20"}),
        ({"min_score": 75, "max_score": 75}, {"cleo", "ben"}),
        ({"owner": "ines"}, {"ben"}),
        ({"team": "enterprise"}, {"ann", "dan"}),
        ({"team": "enterprise", "min_score": 90}, {"ann"}),
        ({"stage": "won"}, set()),
    ],
)
def test_filters(served: Served, params: dict[str, Any], expected: set[str]) -> None:
    with served.client("admin") as http:
        assert ids(listed(http, **params)) == expected


def page_through(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        response = http.get("/v1/leads", params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["leads"]) <= params["limit"]
        rows += page["leads"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows
        assert len(page["leads"]) == params["limit"]  # only the last page is short
    raise AssertionError("the pages never end")


@pytest.mark.parametrize("sort", ["score", "fit", "engagement", "since"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_pages_give_every_lead_once_in_order(served: Served, sort: str, order: str) -> None:
    with served.client("admin") as http:
        rows = page_through(http, sort=sort, order=order, limit=3)
    names = [row["lead_id"] for row in rows]
    assert len(names) == len(set(names)) == len(EVERYONE) and set(names) == EVERYONE
    values = [row[sort] or "" for row in rows] if sort == "since" else [row[sort] for row in rows]
    assert values == sorted(values, reverse=order == "desc")


def test_ties_are_paged_in_a_stable_order(served: Served) -> None:
    """Five browsers score exactly 50: pages of two split them and still give each once."""
    with served.client("admin") as http:
        whole = [row["lead_id"] for row in listed(http, min_score=50, max_score=50)]
        paged = [row["lead_id"] for row in page_through(http, min_score=50, max_score=50, limit=2)]
    assert sorted(whole) == ["lead-01", "lead-05", "lead-09", "lead-13", "lead-17"]
    assert paged == whole


def test_the_sort_order_by_hand(served: Served) -> None:
    with served.client("admin") as http:
        best = http.get("/v1/leads", params={"limit": 2}).json()["leads"]
        latest = http.get("/v1/leads", params={"sort": "since", "order": "desc", "limit": 4}).json()["leads"]
        oldest = http.get("/v1/leads", params={"sort": "since", "order": "asc", "limit": 20}).json()["leads"]
    assert [(row["lead_id"], row["score"]) for row in best] == [("ann", 100), ("lead-19", 90)]  # ties: last key first
    assert ids(latest) == HAND_RAISERS  # the only leads that ever moved
    assert ids(oldest) == set(BROWSERS)  # never moved: no stage entry time, before everyone


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("carla", {"ann", "dan"}),  # team enterprise
        ("dev", {"ann", "dan"}),
        ("farah", {"ben"}),  # team smb: away, but still sees the team's leads
        ("erin", {"ann", "dan", "cleo"}),  # manages enterprise and emea_fr
        ("ines", {"ben"}),  # manages smb
        ("marketing", EVERYONE),
        ("admin", EVERYONE),
    ],
)
def test_each_key_lists_only_the_leads_within_its_reach(served: Served, key: str, expected: set[str]) -> None:
    with served.client(key) as http:
        assert ids(listed(http)) == expected
        assert ids(listed(http, team="smb")) == expected & {"ben"}  # a filter narrows, never widens


def test_a_sales_key_pages_within_its_reach(served: Served) -> None:
    """The reach is part of the query: a page of one is never empty because others' leads filled it."""
    with served.client("carla") as http:
        rows = page_through(http, limit=1)
    assert [row["lead_id"] for row in rows] == ["ann", "dan"]


@pytest.mark.parametrize(
    ("params", "status", "where"),
    [
        ({"limit": 0}, 422, "query.limit"),
        ({"limit": 501}, 422, "query.limit"),
        ({"limit": "ten"}, 422, "query.limit"),
        ({"sort": "name"}, 422, "query.sort"),
        ({"order": "up"}, 422, "query.order"),
        ({"stage": "hot"}, 422, "query.stage.0"),
        ({"min_score": "high"}, 422, "query.min_score"),
        ({"max_score": "nan"}, 422, "query.max_score"),
        ({"cursor": "not-a-cursor"}, 400, "query.cursor"),
        ({"cursor": "eyJzb3J0IjoxfQ"}, 400, "query.cursor"),  # base64 JSON, but not a cursor
    ],
)
def test_bad_query_values_are_problems_naming_the_parameter(
    served: Served, params: dict[str, Any], status: int, where: str
) -> None:
    with served.client("admin") as http:
        response = http.get("/v1/leads", params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == ("invalid_request" if status == 422 else "bad_input")
    assert where in [place["where"] for place in problem["errors"]]


def test_a_cursor_only_continues_its_own_sort(served: Served) -> None:
    with served.client("admin") as http:
        cursor = http.get("/v1/leads", params={"limit": 2, "sort": "fit"}).json()["next_cursor"]
        response = http.get("/v1/leads", params={"limit": 2, "sort": "score", "cursor": cursor})
    assert response.status_code == 400
    assert "sorted by fit desc, not score desc" in response.json()["detail"]


def test_a_lead_answers_its_state_explanation_and_history(served: Served) -> None:
    owner = owners(served)["ann"]
    assert owner is not None
    with served.client(owner) as http:
        response = http.get("/v1/leads/ann")
    assert response.status_code == 200, response.text
    lead = response.json()
    state = lead["state"]
    assert (state["stage"], state["owner"], state["team"], state["queue"]) == (
        "sal_pending",
        owner,
        "enterprise",
        "rep",
    )
    assert state["version"] == 3  # inquiry -> mql, mql -> sal_pending, the assignment
    explanation = lead["explanation"]
    assert (explanation["fit"], explanation["engagement"], explanation["score"]) == (60, 40, 100)
    points = {item["label"]: item["points"] for item in explanation["contributions"]}
    assert points == {
        "Mid-market or larger": 20,
        "Decision maker": 15,
        "Target industry": 10,
        "Budget of 10k or more": 15,
        "Demo request": 40,
    }
    kinds = [entry["kind"] for entry in lead["history"]["entries"]]
    assert kinds == ["event", "transition", "transition", "assignment"]
    assert lead["history"]["entries"][1]["what"].startswith("inquiry → mql")


@pytest.mark.parametrize(
    ("key", "lead", "status"),
    [
        ("farah", "ann", 403),  # smb rep, enterprise lead
        ("carla", "ben", 403),
        ("carla", "cleo", 403),
        ("erin", "ben", 403),
        ("erin", "cleo", 200),
        ("ines", "ben", 200),
        ("carla", "lead-01", 403),  # an inquiry belongs to no team yet
        ("marketing", "lead-01", 200),
        ("admin", "ben", 200),
        ("admin", "nobody", 404),
        ("carla", "nobody", 404),
    ],
)
def test_a_lead_outside_the_reach_is_refused(served: Served, key: str, lead: str, status: int) -> None:
    with served.client(key) as http:
        response = http.get(f"/v1/leads/{lead}")
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["code"] == "forbidden" and "this key sees" in response.json()["detail"]


@pytest.mark.parametrize(
    ("key", "queue", "status"),
    [
        ("carla", "carla", 200),
        ("carla", "dev", 403),  # a rep sees their own queue only
        ("farah", "carla", 403),
        ("erin", "carla", 200),  # a member of a team erin manages
        ("erin", "alice", 200),
        ("erin", "farah", 403),
        ("erin", "ines", 403),
        ("ines", "ines", 200),  # the manager's queue of smb
        ("ines", "farah", 200),
        ("admin", "dev", 200),
        ("admin", "nobody", 404),
        ("marketing", "carla", 403),
    ],
)
def test_queues_follow_the_reach(served: Served, key: str, queue: str, status: int) -> None:
    with served.client(key) as http:
        response = http.get(f"/v1/queues/{queue}")
    assert response.status_code == status, response.text


def test_a_queue_lists_its_owners_leads(served: Served) -> None:
    lead_owners = owners(served)
    with served.client("carla") as http:
        mine = http.get("/v1/queues/carla").json()
    with served.client("ines") as http:
        managers = http.get("/v1/queues/ines").json()
        farahs = http.get("/v1/queues/farah").json()
    carlas = {lead for lead, owner in lead_owners.items() if owner == "carla"}
    assert len(carlas) == 1 and {item["lead_id"] for item in mine["items"]} == carlas
    (item,) = mine["items"]
    assert (item["stage"], item["queue"], item["team"]) == ("sal_pending", "rep", "enterprise")
    assert 0 < item["sla_minutes_left"] <= 4 * 60  # 4 business hours, counted from the assignment
    assert [(entry["lead_id"], entry["queue"]) for entry in managers["items"]] == [("ben", "manager")]
    assert farahs["items"] == []


def test_the_stage_table_of_the_playbook_in_force(served: Served) -> None:
    for key in ("carla", "erin", "marketing", "admin"):
        with served.client(key) as http:
            response = http.get("/v1/stages")
        assert response.status_code == 200, response.text
    table = response.json()
    assert (table["playbook"], table["playbook_version"]) == ("acme-saas", 1)
    moves = {(row["source"], row["target"]): row["causes"] for row in table["transitions"]}
    # 19 rows of the waterfall, less the two straight-to-SAL rows (SAL is used), plus a
    # disqualification from each of the 8 open stages
    assert len(moves) == 25
    assert moves[("mql", "sal_pending")] == ["routing"]
    assert moves[("sal_pending", "sal")] == ["decision"]
    assert moves[("sal", "sql")] == ["decision", "rule"]
    assert moves[("sql", "won")] == ["decision", "outcome"]
    assert ("mql", "sal") not in moves
    assert table["stages"][:3] == ["inquiry", "mql", "pql"] and "disqualified" in table["stages"]


ROUTES = [
    ("GET", "/v1/leads", None),
    ("GET", "/v1/leads/ann", None),
    ("POST", "/v1/leads/ann/decisions", {"kind": "accept"}),
    ("GET", "/v1/queues/carla", None),
    ("GET", "/v1/stages", None),
    ("DELETE", "/v1/people/ann", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_an_ingest_key_is_refused_and_no_key_is_unauthenticated(
    served: Served, method: str, path: str, body: dict[str, Any] | None
) -> None:
    with served.client("ingest") as ingest, served.client() as anonymous:
        refused = ingest.request(method, path, json=body)
        unknown = anonymous.request(method, path, json=body)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert unknown.status_code == 401 and unknown.json()["code"] == "unauthenticated"


def test_every_route_declares_its_answers(served: Served) -> None:
    with served.client() as http:
        paths = http.get("/openapi.json").json()["paths"]
    for method, path, _ in ROUTES:
        template = path.replace("/ann", "/{lead_id}").replace("/carla", "/{owner}")
        answers = paths[template][method.lower()]["responses"]
        assert {"200", "400", "401", "403", "404", "422"} <= set(answers), (method, path)
        assert "$ref" in str(answers["200"])  # a declared model, not an open object
    assert "409" in paths["/v1/leads/{lead_id}/decisions"]["post"]["responses"]


def test_the_decision_kinds_are_the_lifecycles() -> None:
    assert get_args(DecisionKind) == DECISION_KINDS


# -- decisions: a world of hand-raisers each test decides on -------------------------------------------------


def decision_world() -> Story:
    """ann and dan (acme: enterprise, carla and dev by round robin) and ben (beta: smb, farah)."""
    story = Story()
    story.account("acme", employees=1500, industry="Software", country="FR")
    story.account("beta", employees=300, industry="Retail", country="DE")
    for lead, account, role in (("ann", "acme", "CTO"), ("dan", "acme", "CFO"), ("ben", "beta", "Head")):
        story.lead(lead, account, role=role).did(lead, "Demo Requested")
    return story


@pytest.fixture(scope="module", params=ENGINES)
def deciding(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with (
        database_on(request.param, request) as database,
        serving(tmp_path_factory.mktemp("decisions") / "ws", keys=KEYS, database=database) as running,
    ):
        post(running, decision_world())
        wait_until(lambda: stage_count(running, "sal_pending") == 3, 60, "the three hand-raisers to be routed")
        yield running


def decide(served: Served, key: str, lead: str, **body: Any) -> httpx.Response:
    with served.client(key) as http:
        return http.post(f"/v1/leads/{lead}/decisions", json=body)


def version_of(served: Served, lead: str) -> int:
    with served.client("admin") as http:
        return int(next(row["version"] for row in listed(http) if row["lead_id"] == lead))


def test_two_accepts_at_once_one_wins_the_other_is_told_plainly(deciding: Served) -> None:
    owner = owners(deciding)["ann"]
    assert owner in ("carla", "dev")
    seen = version_of(deciding, "ann")
    start = threading.Barrier(2)
    answers: dict[str, httpx.Response] = {}

    def accept(key: str) -> None:
        start.wait()
        answers[key] = decide(deciding, key, "ann", kind="accept", expected_version=seen)

    threads = [threading.Thread(target=accept, args=(key,)) for key in (owner, "erin")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(response.status_code for response in answers.values())
    assert statuses == [200, 409]
    won = next(key for key, response in answers.items() if response.status_code == 200)
    lost = next(response for response in answers.values() if response.status_code == 409)
    assert answers[won].json()["state"]["stage"] == "sal"
    problem = lost.json()
    assert problem["code"] == "conflict"
    assert problem["detail"] == (
        f"lead ann changed since you looked at it (version {seen}, now {seen + 2}): "
        f"it is sal (owner: {owner}); look again before deciding"
    )
    with deciding.client("admin") as http:
        entries = http.get("/v1/leads/ann").json()["history"]["entries"]
    decisions = [entry for entry in entries if entry["kind"] == "decision"]
    assert [(entry["what"], entry["who"], entry["details"]) for entry in decisions] == [
        ("accept", won, {"source": "api"})
    ]
    again = decide(deciding, owner, "ann", kind="accept")  # without a version: the stage says why
    assert again.status_code == 422 and "it is sal" in again.json()["detail"]


def test_who_may_decide(deciding: Served) -> None:
    for key, status in (("farah", 403), ("marketing", 403), ("admin", 403)):
        response = decide(deciding, key, "dan", kind="reject", reason="not_icp")
        assert response.status_code == status, (key, response.text)
    assert "role sales or manager" in decide(deciding, "admin", "dan", kind="accept").json()["detail"]
    with deciding.client("carla") as http:
        broken = http.post(
            "/v1/leads/dan/decisions", content=b'{"kind": "accept",', headers={"content-type": "application/json"}
        )
    assert broken.status_code == 400 and broken.json()["code"] == "bad_input"
    assert broken.json()["detail"].startswith("the body is not valid JSON (")
    missing = decide(deciding, "carla", "nobody", kind="accept")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no lead with the id 'nobody'"  # no command-line hint in an API answer


def test_a_rejection_with_a_reason_and_a_note_is_in_the_history(deciding: Served) -> None:
    assert owners(deciding)["ben"] == "farah"  # smb, least loaded: the first listed of three idle reps
    unknown = decide(deciding, "farah", "ben", kind="reject", reason="too_small")
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "decision_refused"
    assert unknown.json()["detail"] == f"reject needs a reason among {REJECT_REASONS}; got 'too_small'"
    note = "Asked us to call back after their budget round in Q2"
    response = decide(deciding, "farah", "ben", kind="reject", reason="bad_timing", note=note)
    assert response.status_code == 200, response.text
    state = response.json()["state"]
    assert (state["stage"], state["owner"]) == ("recycled", None)
    since = dt.datetime.fromisoformat(state["since"])
    assert dt.datetime.fromisoformat(state["cool_off_until"]) == since + dt.timedelta(days=30)  # bad_timing: 30 days
    with deciding.client("farah") as http:
        assert http.get("/v1/leads/ben").status_code == 403  # recycled: nobody's lead any more
    with deciding.client("marketing") as http:
        entries = http.get("/v1/leads/ben").json()["history"]["entries"]
    decision = next(entry for entry in entries if entry["kind"] == "decision")
    assert decision["what"] == f"reject, reason bad_timing, “{note}”"
    assert decision["who"] == "farah"
    moves = [entry["what"] for entry in entries if entry["kind"] == "transition"]
    assert moves[-2:] == [
        "sal_pending → rejected: rejected by farah: Bad timing",
        "rejected → recycled: bad_timing: back to nurture, may qualify again after 30 days",
    ]


def test_accept_qualify_and_win(deciding: Served) -> None:
    owner = owners(deciding)["dan"]
    assert owner is not None
    accepted = decide(deciding, owner, "dan", kind="accept", expected_version=version_of(deciding, "dan"))
    assert accepted.status_code == 200, accepted.text
    missing = decide(deciding, owner, "dan", kind="qualify", checklist=["budget", "need"])
    assert missing.status_code == 422
    assert missing.json()["detail"].endswith("missing: authority, timeline")
    checklist = ["budget", "authority", "need", "timeline"]
    assert decide(deciding, owner, "dan", kind="qualify", checklist=checklist).json()["state"]["stage"] == "sql"
    assert decide(deciding, "erin", "dan", kind="won").json()["state"]["stage"] == "won"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"kind": "maybe"}, "body.kind"),
        ({}, "body.kind"),
        ({"kind": "accept", "expected_version": -1}, "body.expected_version"),
        ({"kind": "accept", "checklist": "budget"}, "body.checklist"),
        ({"kind": "accept", "actor": "carla"}, "body.actor"),  # the actor is the key's rep, never the body's
    ],
)
def test_a_bad_decision_body_names_the_field(deciding: Served, body: dict[str, Any], where: str) -> None:
    response = decide(deciding, "erin", "ann", **body)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert where in [place["where"] for place in response.json()["errors"]]


# -- erasure -------------------------------------------------------------------------------------------------

SECRETS = (
    "zoe-q-4711",  # her user id
    "device-zoe-9",  # her anonymous id, aliased to it
    "zoe.quintard@northwind.example",
    "northwind.example",
    "Quintard",
    "/zoe-private-page",
    "zoe-campaign-secret",
)


def zoe_world() -> Story:
    story = Story()
    story.account("northwind", employees=1500, industry="Software", country="FR", name="Northwind")
    story.visited(None, "/zoe-private-page", hours_ago=30, anonymousId="device-zoe-9")
    story.lead("zoe-q-4711", "northwind", role="CTO", email="zoe.quintard@northwind.example", lastName="Quintard")
    story.messages.append(
        {"type": "alias", "messageId": str(uuid.uuid4()), "previousId": "device-zoe-9", "userId": "zoe-q-4711"}
    )
    story.did("zoe-q-4711", "Demo Requested", utm_campaign="zoe-campaign-secret")
    story.account("acme", employees=1500, industry="Software", country="FR")
    story.lead("ann", "acme", role="CTO").did("ann", "Demo Requested")
    return story


def funnel(served: Served) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with served.runtime.locked() as store:
        events = store._run("SELECT event, count(*) FROM events GROUP BY event ORDER BY event")
        moves = store._run("SELECT target, count(*) FROM transitions GROUP BY target ORDER BY target")
    return events, moves


def mentions(served: Served, secret: str) -> list[str]:
    """Every table.column holding ``secret`` in some row."""
    found = []
    with served.runtime.locked() as store:
        columns = store._run(
            "SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
        )
        for table, column in columns:
            hits = store._one(f'SELECT count(*) FROM "{table}" WHERE contains("{column}", ?)', [secret])
            if hits and hits[0]:
                found.append(f"{table}.{column}")
    return found


def test_erasing_a_person_removes_their_data_and_keeps_the_funnel(tmp_path: Path) -> None:
    with serving(tmp_path / "ws", keys=KEYS) as served:
        post(served, zoe_world())
        wait_until(lambda: stage_count(served, "sal_pending") == 2, 60, "zoe and ann to be routed")
        owner = owners(served)["zoe-q-4711"]
        assert owner is not None
        note = "Zoé Quintard left Northwind; her mobile is +33 6 12 34 56 78"
        rejected = decide(served, owner, "zoe-q-4711", kind="reject", reason="not_reachable", note=note)
        assert rejected.status_code == 200, rejected.text
        assert all(mentions(served, secret) for secret in SECRETS)  # the search finds what is there
        before = funnel(served)

        for key in ("carla", "erin", "marketing"):
            with served.client(key) as http:
                assert http.delete("/v1/people/zoe-q-4711").status_code == 403
        with served.client("admin") as http:
            response = http.delete("/v1/people/zoe-q-4711")
            assert response.status_code == 200, response.text
            erased = response.json()
            assert http.get("/v1/leads/zoe-q-4711").status_code == 404
            assert http.delete("/v1/people/zoe-q-4711").status_code == 404
            rows = {row["lead_id"]: row for row in listed(http)}

        # user id and anonymous id; role, email, last name and the email domain; the alias and the
        # account membership; the page view before the alias and the demo request; one note
        assert {name: erased[name] for name in ("ids", "traits", "links", "events", "notes")} == {
            "ids": 2,
            "traits": 4,
            "links": 2,
            "events": 2,
            "notes": 1,
        }
        assert {secret: mentions(served, secret) for secret in SECRETS} == {secret: [] for secret in SECRETS}
        assert funnel(served) == before
        known_now_as = erased["known_now_as"]
        assert known_now_as.startswith("erased-") and set(rows) == {"ann", known_now_as}
        assert rows[known_now_as]["stage"] == "recycled"  # her moves still count in the funnel
