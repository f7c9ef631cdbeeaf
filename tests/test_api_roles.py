"""Every route for every role: who gets in, who gets 403, and 401 without a key.

The table below is written from the roles as docs/api.md states them, not read from the code;
a route missing from it fails the test, so a new route must say who may use it.
"""

from __future__ import annotations

import pytest

from leadgate.api.app import ROUTERS
from tests.conftest import ENGINES
from tests.service_fixtures import STANDARD_KEYS, Served, database_on, serving, wait_until

EVERYONE_BUT_INGEST = {"carla", "farah", "erin", "marketing", "admin"}
SENDERS = {"ingest", "admin"}
CHANGERS = {"marketing", "admin"}

# (method, path) -> the keys that get in. carla is a sales rep of team enterprise and owns the
# lead "ann"; farah is a sales rep of team smb (ann is outside her reach); erin manages enterprise.
ALLOWED: dict[tuple[str, str], set[str] | None] = {
    ("GET", "/v1/health"): None,  # no key needed
    **{("POST", f"/v1/{kind}"): SENDERS for kind in ("batch", "track", "page", "screen", "identify", "group", "alias")},
    ("GET", "/v1/leads"): EVERYONE_BUT_INGEST,
    ("GET", "/v1/leads/{lead_id}"): {"carla", "erin", "marketing", "admin"},
    ("POST", "/v1/leads/{lead_id}/decisions"): {"carla", "erin"},
    ("GET", "/v1/queues/{owner}"): {"carla", "erin", "admin"},
    ("GET", "/v1/stages"): EVERYONE_BUT_INGEST,
    ("DELETE", "/v1/people/{lead_id}"): {"admin"},
    ("GET", "/v1/playbook"): EVERYONE_BUT_INGEST,
    ("GET", "/v1/playbook/versions"): EVERYONE_BUT_INGEST,
    ("GET", "/v1/playbook/versions/{version}"): EVERYONE_BUT_INGEST,
    ("GET", "/v1/playbook/diff"): EVERYONE_BUT_INGEST,
    ("POST", "/v1/playbook/validate"): CHANGERS,
    ("POST", "/v1/playbook"): CHANGERS,
    ("POST", "/v1/playbook/rollback"): CHANGERS,
    ("POST", "/v1/keys"): {"admin"},
    ("GET", "/v1/keys"): {"admin"},
    ("DELETE", "/v1/keys/{key_id}"): {"admin"},
    ("GET", "/v1/webhooks/dead"): CHANGERS,
    ("GET", "/v1/webhooks/pending"): CHANGERS,
    ("POST", "/v1/webhooks/dead/retry"): {"admin"},
    ("POST", "/v1/webhooks/{notification_id}/retry"): {"admin"},
}

KEYS = {**STANDARD_KEYS, "spare": ("marketing", None, None)}


def routes() -> list[tuple[str, str]]:
    return [(method, route.path) for router in ROUTERS for route in router.routes for method in sorted(route.methods)]  # type: ignore[attr-defined]


def test_the_table_names_every_route() -> None:
    assert sorted(set(routes()) - set(ALLOWED)) == []
    assert sorted(set(ALLOWED) - set(routes())) == []


@pytest.fixture(scope="module", params=ENGINES)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with (
        database_on(request.param, request) as database,
        serving(tmp_path_factory.mktemp("roles") / "ws", keys=KEYS, database=database) as running,
    ):
        messages = [
            {
                "type": "identify",
                "messageId": "i1",
                "userId": "ann",
                "traits": {"role": "CTO", "budget_estimate": 20000},
            },
            {"type": "group", "messageId": "g1", "userId": "ann", "groupId": "acme", "traits": {"employees": 1500}},
            {"type": "track", "messageId": "t1", "userId": "ann", "event": "Demo Requested"},
            {"type": "identify", "messageId": "i2", "userId": "zed", "traits": {"email": "zed@example.org"}},
        ]
        with running.client("ingest") as http:
            http.post("/v1/batch", json={"batch": messages}).raise_for_status()
        with running.client("admin") as http:
            wait_until(lambda: http.get("/v1/leads/ann").json()["state"]["owner"] == "carla", 15, "ann to reach carla")
        yield running


def request(served: Served, key: str | None, method: str, path: str) -> int:
    spare_id = served.keys["spare"].split("_")[1]
    concrete = (
        path.replace("{lead_id}", "zed" if path.startswith("/v1/people") else "ann")
        .replace("{owner}", "carla")
        .replace("{version}", "1")
        .replace("{key_id}", spare_id)
        .replace("{notification_id}", "999999")
    )
    # bodies that pass validation, so the reach check (after it) answers; a reject without its
    # reason is refused, so the lead does not move
    bodies: dict[str, object] = {"/v1/batch": {"batch": []}, "/v1/leads/{lead_id}/decisions": {"kind": "reject"}}
    body = bodies.get(path, {})
    with served.client(key) as http:
        if method in ("POST", "PUT", "PATCH"):
            return http.request(method, concrete, json=body).status_code
        return http.request(method, concrete).status_code


@pytest.mark.parametrize(("method", "path"), sorted(ALLOWED))
def test_each_role_gets_in_or_gets_403(served: Served, method: str, path: str) -> None:
    allowed = ALLOWED[(method, path)]
    answers = {
        name: request(served, name, method, path) for name in ("ingest", "carla", "farah", "erin", "marketing", "admin")
    }
    anonymous = request(served, None, method, path)
    if allowed is None:
        assert anonymous == 200 and set(answers.values()) == {200}
        return
    assert anonymous == 401
    refused = {name for name, status in answers.items() if status == 403}
    let_in = {name for name, status in answers.items() if status not in (401, 403)}
    assert (let_in, refused) == (allowed, set(answers) - allowed), answers
