"""API keys over HTTP on a real server: admins create, list and revoke them; a revoked key is refused at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leadgate.service.keys import hash_key
from tests.service_fixtures import Served, serving


@pytest.fixture
def served(tmp_path: Path, database: str | None) -> Iterator[Served]:
    with serving(tmp_path / "ws", database=database) as running:
        yield running


def test_a_key_is_shown_once_and_revoked_at_once(served: Served) -> None:
    with served.client("admin") as admin:
        created = admin.post("/v1/keys", json={"role": "sales", "user": "carla"})
        assert created.status_code == 201
        made = created.json()
        key = made["key"]
        assert key.startswith(f"lg_{made['key_id']}_")
        assert (made["role"], made["user"], made["team"], made["revoked_at"]) == ("sales", "carla", None, None)
        with served.runtime.locked() as store:  # only the hash is stored
            assert store._one("SELECT key_hash FROM api_keys WHERE key_id = ?", [made["key_id"]]) == (hash_key(key),)

        listed = admin.get("/v1/keys")
        assert listed.status_code == 200
        assert key not in listed.text and hash_key(key) not in listed.text
        assert {row["key_id"]: row["role"] for row in listed.json()}[made["key_id"]] == "sales"
        assert all(set(row) == {"key_id", "role", "user", "team", "created_at", "revoked_at"} for row in listed.json())

        with served.client() as http:
            headers = {"Authorization": f"Bearer {key}"}
            assert http.get("/v1/playbook", headers=headers).status_code == 200  # the server now knows this key
            assert admin.delete(f"/v1/keys/{made['key_id']}").status_code == 204
            refused = http.get("/v1/playbook", headers=headers)
            assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"

        (row,) = [row for row in admin.get("/v1/keys").json() if row["key_id"] == made["key_id"]]
        assert row["revoked_at"] is not None
        assert admin.delete(f"/v1/keys/{made['key_id']}").status_code == 404  # no live key with that id


def test_keys_are_checked_against_the_playbook(served: Served) -> None:
    with served.client("admin") as admin:
        team_key = admin.post("/v1/keys", json={"role": "manager", "user": "erin", "team": "emea_fr"})
        assert team_key.status_code == 201 and team_key.json()["team"] == "emea_fr"
        for body, status, words in [
            ({"role": "sales"}, 400, "give --user NAME"),
            ({"role": "sales", "user": "zed"}, 400, "'zed' is in no team"),
            ({"role": "sales", "user": "carla", "team": "smb"}, 400, "'carla' is not in team 'smb'"),
            ({"role": "marketing", "team": "smb"}, 400, "--team only applies to sales and manager keys"),
            ({"role": "owner"}, 422, "role"),
        ]:
            answer = admin.post("/v1/keys", json=body)
            assert answer.status_code == status, body
            assert words in answer.json()["detail"], body
        assert admin.delete("/v1/keys/nope").status_code == 404


def test_only_admins_manage_keys(served: Served) -> None:
    requests = [("GET", "/v1/keys", None), ("POST", "/v1/keys", {"role": "ingest"}), ("DELETE", "/v1/keys/x", None)]
    with served.client() as nobody:
        for method, path, body in requests:
            assert nobody.request(method, path, json=body).status_code == 401, path
    for name in ("ingest", "carla", "erin", "marketing"):
        with served.client(name) as http:
            for method, path, body in requests:
                answer = http.request(method, path, json=body)
                assert answer.status_code == 403 and answer.json()["code"] == "forbidden", (name, path)
    with served.runtime.locked() as store:
        assert store.count("api_keys") == 6  # the standard keys, nothing more
