"""The web app on PostgreSQL, the production store: the pages read and decide as on DuckDB.

The other web tests run on the workspace's DuckDB file; this module serves the same sales world
from a throwaway PostgreSQL database and walks through every page once, with a decision.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import add_users, csrf_of, signed_in_client
from tests.postgres_server import PostgresServer
from tests.service_fixtures import Served, serving
from tests.test_web_marketing import EXAMPLE, MQL_LINE
from tests.test_web_sales import ROLE_OF, post_decision, sales_world, state


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer) -> Iterator[Served]:
    url = postgres_server.new_database()
    try:
        with serving(tmp_path_factory.mktemp("web-pg") / "ws", keys={}, database=url) as found:
            add_users(found)
            sales_world(found)
            yield found
    finally:
        postgres_server.drop_database(url)


def owned_by(served: Served, owner: str) -> list[str]:
    return [lead for lead in sorted(ROLE_OF) if state(served, lead).owner == owner]


def test_the_lead_page_and_a_decision_on_postgresql(served: Served) -> None:
    first, second = owned_by(served, "carla")[:2]
    with signed_in_client(served, "carla") as client:
        queue = client.get("/app/queue").text
        assert f'href="/app/leads/{first}"' in queue and f'href="/app/leads/{second}"' in queue
        page = client.get(f"/app/leads/{first}").text
        # the world's decision makers score 96 (see test_web_sales), the others 81
        assert "score <strong>96.0</strong>" in page or "score <strong>81.0</strong>" in page
        assert "Buying group: " in page and "inquiry → mql" in page
        assert post_decision(client, first, kind="accept").status_code == 303
        rejected = post_decision(client, second, kind="reject", reason="bad_timing", note="next year")
        assert rejected.status_code == 303
        story = client.get(rejected.headers["location"]).text  # no longer hers, still readable
        assert "rejected by carla: Bad timing" in story and 'name="kind"' not in story
    assert (state(served, first).stage, state(served, second).stage) == ("sal", "recycled")


@pytest.mark.parametrize(
    ("user", "path"),
    [
        ("erin", "/app/team"),
        ("erin", "/app/team/breaches"),
        ("erin", "/app/team/reps"),
        ("mia", "/app/funnel"),
        ("mia", "/app/rules"),
        ("mia", "/app/playbook"),
    ],
)
def test_every_other_page_reads_postgresql(served: Served, user: str, path: str) -> None:
    with signed_in_client(served, user) as client:
        answer = client.get(path)
    assert answer.status_code == 200, answer.text[:500]


def test_a_marketer_previews_and_publishes_a_draft_on_postgresql(served: Served) -> None:
    stricter = EXAMPLE.replace(MQL_LINE, 'when: "fit >= 30 and engagement >= 60"').replace(
        "\nversion: 1\n", "\nversion: 2\n"
    )
    with signed_in_client(served, "mia") as client:
        token = csrf_of(client, "/app/playbook")
        preview = client.post("/app/playbook/preview", data={"csrf_token": token, "draft": stricter})
        assert preview.status_code == 200 and "Preview" in preview.text, preview.text[:500]
        published = client.post("/app/playbook/publish", data={"csrf_token": token, "draft": stricter})
        assert published.status_code == 303 and published.headers["location"] == "/app/playbook?published=2"
    assert served.runtime.playbook().version == 2
