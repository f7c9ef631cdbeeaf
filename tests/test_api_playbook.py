"""The playbook over HTTP on a real server: read, validate, publish, roll back, diff, and who may."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.playbook_texts import V1, edited, line_of
from tests.service_fixtures import Served, serving, wait_until

YAML = {"Content-Type": "application/yaml"}


@pytest.fixture
def served(tmp_path: Path, database: str | None) -> Iterator[Served]:
    with serving(tmp_path / "ws", database=database) as running:
        yield running


def file_text(served: Served) -> str:
    return served.workspace.playbook_path.read_text(encoding="utf-8")


def test_every_reading_role_sees_the_playbook_in_force(served: Served) -> None:
    for name in ("carla", "erin", "marketing", "admin"):
        with served.client(name) as http:
            answer = http.get("/v1/playbook")
            assert answer.status_code == 200, name
            body = answer.json()
            assert (body["name"], body["version"], body["text"]) == ("acme-saas", 1, V1)
            assert body["published_by"] is None  # never published: the file as init wrote it
            versions = http.get("/v1/playbook/versions")
            assert [(row["version"], row["action"], row["in_force"]) for row in versions.json()] == [
                (1, "initial", True)
            ]
            assert http.get("/v1/playbook/versions/1").json()["text"] == V1


def test_a_published_version_is_used_by_the_next_cycle(served: Served) -> None:
    """zoe requested a demo (40 engagement points) but has no fit: v1 wants fit >= 30 for an MQL, v2 does not."""
    demo = {"type": "track", "messageId": "m-1", "userId": "zoe", "event": "Demo Requested"}
    with served.client("ingest") as ingest:
        ingest.post("/v1/track", json=demo).raise_for_status()

    def scored() -> bool:
        with served.runtime.locked() as store:
            return store.has_table("lead_scores") and store._one("SELECT count(*) FROM lead_scores") == (1,)

    wait_until(scored, 10, "zoe to be scored with version 1")
    with served.runtime.locked() as store:
        assert store.count("transitions") == 0
    v2 = edited(2).replace('when: "fit >= 30 and engagement >= 40"', 'when: "engagement >= 40"')
    with served.client("marketing") as marketing:
        answer = marketing.post("/v1/playbook", content=v2, headers=YAML)
        assert answer.status_code == 201, answer.text
        assert answer.json()["version"]["version"] == 2
        assert "Stage “mql”: when changes from “fit >= 30 and engagement >= 40” to “engagement >= 40”." in [
            change["sentence"] for change in answer.json()["changes"]
        ]
        assert marketing.get("/v1/playbook").json()["version"] == 2  # at once, on the next request

    def moved() -> bool:
        with served.runtime.locked() as store:
            return store.count("transitions") > 0

    wait_until(moved, 10, "zoe to qualify under version 2")
    with served.runtime.locked() as store:
        first = store._one("SELECT target, playbook_version FROM transitions ORDER BY seq LIMIT 1")
    assert first == ("mql", 2)
    assert file_text(served) == v2


def test_a_bad_playbook_is_refused_at_its_line_and_changes_nothing(served: Served) -> None:
    bad = edited(2).replace('when: "fit >= 30 and', 'when: "fitt >= 30 and')
    expected = [f"playbook.yaml:{line_of(bad, 'fitt >= 30')}"]
    with served.client("marketing") as marketing:
        for answer in (
            marketing.post("/v1/playbook", content=bad, headers=YAML),
            marketing.post("/v1/playbook", json={"text": bad}),
            marketing.post("/v1/playbook/validate", content=bad, headers={"Content-Type": "text/plain"}),
        ):
            assert answer.status_code == 422
            problem = answer.json()
            assert problem["code"] == "playbook_invalid"
            assert [place["where"] for place in problem["errors"]] == expected
            assert problem["errors"][0]["code"] == "PB102"
        assert [row["action"] for row in marketing.get("/v1/playbook/versions").json()] == ["initial"]
        assert marketing.get("/v1/playbook").json()["version"] == 1
    assert file_text(served) == V1


def test_validate_answers_the_name_and_version_and_publishes_nothing(served: Served) -> None:
    with served.client("admin") as admin:
        answer = admin.post("/v1/playbook/validate", json={"text": edited(7)})
        assert answer.status_code == 200
        assert {key: answer.json()[key] for key in ("valid", "name", "version")} == {
            "valid": True,
            "name": "acme-saas",
            "version": 7,
        }
        assert admin.post("/v1/playbook/validate", json={"yaml": "x"}).status_code == 400
        assert admin.post("/v1/playbook/validate", content=b"\xff\xfe", headers=YAML).status_code == 400
        control = admin.post("/v1/playbook/validate", content="name: acme\nversion: \x15", headers=YAML)
        assert control.status_code == 422 and control.json()["errors"][0]["where"] == "playbook.yaml:2"
    assert file_text(served) == V1


def test_a_version_not_above_the_published_ones_is_a_conflict(served: Served) -> None:
    with served.client("marketing") as marketing:
        assert marketing.post("/v1/playbook", content=edited(2), headers=YAML).status_code == 201
        refused = marketing.post("/v1/playbook", content=edited(2, 40), headers=YAML)
        assert refused.status_code == 409
        assert refused.json()["code"] == "conflict"
        assert "version 2 is not above the published versions (the highest is 2)" in refused.json()["detail"]
    assert file_text(served) == edited(2)


def test_rollback_and_diff(served: Served) -> None:
    with served.client("marketing") as marketing, served.client("carla") as sales:
        marketing.post("/v1/playbook", content=edited(2, 20), headers=YAML).raise_for_status()
        diff = sales.get("/v1/playbook/diff", params={"from": 1, "to": 2}).json()
        assert (diff["from"], diff["to"]) == (1, 2)
        assert [change["sentence"] for change in diff["changes"]] == [
            "Version changes from 1 to 2.",
            "Fit rule “Decision maker”: points changes from 15 to 20.",
        ]
        back = marketing.post("/v1/playbook/rollback", json={"version": 1})
        assert back.status_code == 200
        assert (back.json()["version"]["version"], back.json()["version"]["action"]) == (1, "rollback")
        current = sales.get("/v1/playbook").json()
        assert (current["version"], current["text"]) == (1, V1)
        assert current["published_by"] == f"marketing key {served.keys['marketing'].split('_')[1]}"  # lg_<id>_<secret>
        assert served.runtime.playbook().version == 1
        history = sales.get("/v1/playbook/versions").json()
        assert [(row["version"], row["action"], row["replaced_version"], row["in_force"]) for row in history] == [
            (1, "initial", None, False),
            (2, "publish", 1, False),
            (1, "rollback", 2, True),
        ]
        assert marketing.post("/v1/playbook/rollback", json={"version": 1}).status_code == 409  # already in force
        assert marketing.post("/v1/playbook/rollback", json={"version": 9}).status_code == 404
        assert sales.get("/v1/playbook/versions/9").status_code == 404
        assert sales.get("/v1/playbook/diff", params={"from": 9}).status_code == 404
    assert file_text(served) == V1


def test_each_role_may_do_what_it_should(served: Served) -> None:
    reads = [("GET", "/v1/playbook"), ("GET", "/v1/playbook/versions"), ("GET", "/v1/playbook/versions/1")]
    reads.append(("GET", "/v1/playbook/diff?from=1"))
    changes = [
        ("POST", "/v1/playbook/validate", edited(2)),
        ("POST", "/v1/playbook", edited(2)),
        ("POST", "/v1/playbook/rollback", '{"version": 1}'),
    ]
    with served.client() as nobody, served.client("ingest") as ingest:
        for method, path in reads:
            assert nobody.request(method, path).status_code == 401, path
            assert ingest.request(method, path).status_code == 403, path
        for method, path, body in changes:
            assert nobody.request(method, path, content=body, headers=YAML).status_code == 401, path
            assert ingest.request(method, path, content=body, headers=YAML).status_code == 403, path
    for name in ("carla", "erin"):
        with served.client(name) as reader:
            for method, path, body in changes:
                refused = reader.request(method, path, content=body, headers={"Content-Type": "application/json"})
                assert refused.status_code == 403 and refused.json()["code"] == "forbidden", (name, path)
    assert file_text(served) == V1
    with served.client("admin") as admin:
        assert admin.post("/v1/playbook", content=edited(2), headers=YAML).status_code == 201
        assert admin.get("/v1/playbook").json()["published_by"] == f"admin key {served.keys['admin'].split('_')[1]}"
