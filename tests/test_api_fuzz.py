"""Every operation of the live OpenAPI document, fuzzed with schemathesis.

The server is real (uvicorn on a socket, a DuckDB file, a few leads already qualified and
routed); the operations are read from its ``/openapi.json`` when the test runs, so a route
added tomorrow is fuzzed tomorrow without touching this file. Valid and invalid requests go
out with an admin key, which may call every operation but the sales decisions; an operation
that refuses the admin key every time is fuzzed again with a sales rep's key. Two checks: no 5xx, and every 4xx is an RFC 9457
problem document with the right status, a ``code`` and a ``detail``.

The run is bounded (a few examples an operation, no shrinking) and derandomized, so CI sends
the same requests every time. Each operation runs as its own Hypothesis test built from the
operation's strategy (schemathesis's lazy pytest loader cannot run on this pytest); every
failing operation is reported, not only the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from leadgate.api.problems import PROBLEM_MEDIA_TYPE
from tests.service_fixtures import Served, serving, wait_until

EXAMPLES_PER_MODE = 12  # valid and invalid requests an operation
# Path parameters that name something that exists, so that some requests get past the 404
# (random ids never name a lead); never a key id, whose revocation would lock the fuzzer out.
KNOWN_PATH_VALUES = {"lead_id": "ann", "owner": "carla", "version": "1"}
KNOWN_EXAMPLES = 4  # few: explaining a real lead's score costs far more than a 404
FUZZ_SETTINGS = settings(
    max_examples=2 * EXAMPLES_PER_MODE,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failing request is reported as sent
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("fuzz") / "ws") as running:
        a_few_leads(running)
        yield running


def a_few_leads(served: Served) -> None:
    """Leads for the listings to show: one qualified and routed, one merely engaged."""
    messages: list[dict[str, Any]] = [
        {"type": "identify", "userId": "ann", "traits": {"role": "CTO", "budget_estimate": 20000}},
        {"type": "group", "userId": "ann", "groupId": "acme", "traits": {"employees": 1500, "industry": "Software"}},
        {"type": "track", "userId": "ann", "event": "Demo Requested"},
        {"type": "page", "userId": "bob", "properties": {"path": "/pricing"}},
    ]
    batch = [{**message, "messageId": f"seed-{number}"} for number, message in enumerate(messages)]
    with served.client("ingest") as http:
        http.post("/v1/batch", json={"batch": batch}).raise_for_status()

    def routed() -> bool:
        with served.runtime.locked() as store:
            return store._one("SELECT owner FROM lead_state WHERE owner IS NOT NULL") is not None

    wait_until(routed, 30, "the seeded lead to be qualified and routed")


def is_problem_document(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """A 4xx answers an RFC 9457 problem document: its media type, status, code and a sentence."""
    if not 400 <= response.status_code < 500:
        return
    media_type = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    assert media_type == PROBLEM_MEDIA_TYPE, f"a {response.status_code} answered {media_type!r}, not a problem"
    problem: Any = orjson.loads(response.content)
    assert isinstance(problem, dict), "a problem document is a JSON object"
    assert problem.get("status") == response.status_code, f"the problem says status {problem.get('status')!r}"
    assert isinstance(problem.get("code"), str) and problem["code"], "the problem has no code"
    assert isinstance(problem.get("detail"), str) and problem["detail"].strip(), "the problem has no detail"


def fuzz(operation: schemathesis.APIOperation, served: Served, key: str) -> tuple[str | None, set[int]]:
    """Valid and invalid requests to one operation: what went wrong (if anything), and the statuses seen."""
    headers = {"Authorization": f"Bearer {key}"}
    statuses: set[int] = set()

    def send(case: schemathesis.Case) -> None:
        response = case.call(base_url=served.url, headers=headers)
        statuses.add(response.status_code)
        case.validate_response(response, checks=[not_a_server_error, is_problem_document], headers=headers)

    generated = st.one_of(
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )
    runs = [FUZZ_SETTINGS(given(case=generated)(send))]
    names = re.findall(r"\{(\w+)\}", operation.path)
    known = {name: KNOWN_PATH_VALUES[name] for name in names if name in KNOWN_PATH_VALUES}
    if known:
        known_cases = operation.as_strategy(schemathesis.GenerationMode.POSITIVE, path_parameters=known)
        runs.append(settings(FUZZ_SETTINGS, max_examples=KNOWN_EXAMPLES)(given(case=known_cases)(send)))
    try:
        for run in runs:
            run()
    except Exception as failure:  # every operation is tried; the failures are listed together below
        return f"{operation.label}: {failure}", statuses
    return None, statuses


def test_every_operation_answers_without_server_errors_and_refuses_with_problems(served: Served) -> None:
    api = schemathesis.openapi.from_url(f"{served.url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 8  # the ingestion routes and health at least: the document was read
    failures = []
    for operation in operations:
        failure, statuses = fuzz(operation, served, served.keys["admin"])
        if failure is None and 403 in statuses and not any(200 <= status < 300 for status in statuses):
            # the admin key may not (the sales decisions): a rep's key may
            failure, _ = fuzz(operation, served, served.keys["carla"])
        if failure is not None:
            failures.append(failure)
    assert failures == [], "\n\n".join(failures)


@pytest.mark.parametrize(
    "times",
    [
        {"originalTimestamp": "0655-03-27T12:18:17Z", "sentAt": "3662-01-16T14:26:46Z"},  # found by the fuzzer
        {"timestamp": "0001-01-01T00:00:00+05:00"},
        {"timestamp": "9999-12-31T23:00:00-05:00"},
    ],
)
def test_a_time_beyond_the_calendar_is_refused_not_a_crash(served: Served, times: dict[str, str]) -> None:
    message = {"type": "track", "messageId": "far-off", "userId": "u", "event": "e", **times}
    with served.client("ingest") as http:
        response = http.post("/v1/batch", json={"batch": [message]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "IM003"
