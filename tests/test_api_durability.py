"""A 2xx from the ingestion endpoints means committed: the server is killed (SIGKILL) under load.

The test runs ``leadgate serve`` as a real process and a sender as another one (this module,
run with ``python -m tests.test_api_durability``). The sender posts batches of 100 new
messages from several threads and writes a batch's ids to its "acknowledged" file only after a
2xx; a batch that fails (refused connection, reset, 5xx) is sent again, same ids, until it is
taken. The answer to one batch in five is thrown away once, as if the connection had broken
after the commit, so some retries surely resend messages already committed. Mid-run the server is
killed and started again on the same port. Right after the kill, and again at the end, the
database must hold every acknowledged message exactly once and nothing else: nothing
acknowledged was lost, and no retry (after a lost answer or a dead server) added a message
twice.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import duckdb
import httpx
import orjson
import pytest

from tests.service_fixtures import Served, add_keys, free_port, make_workspace, serving

REPOSITORY = Path(__file__).resolve().parents[1]
MESSAGES_PER_BATCH = 100
SENDER_THREADS = 4
GIVE_UP_AFTER_SECONDS = 60.0
ANSWER_LOST_EVERY = 5  # the answer to one batch in five is lost once: the batch is sent again


def leadgate_command() -> list[str]:
    """The installed ``leadgate`` script of this interpreter (leadgate has no ``__main__``)."""
    return [str(Path(sys.executable).with_name("leadgate"))]


def start_server(workspace: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [*leadgate_command(), "--workspace", str(workspace), "serve", "--port", str(port)]
    with log.open("ab") as output:
        return subprocess.Popen([*command, "--log-level", "warning"], stdout=output, stderr=subprocess.STDOUT)


def wait_for_health(url: str, server: subprocess.Popen[bytes], timeout: float = 30.0) -> float:
    """Seconds until ``/v1/health`` answers (the server opened the database and its threads run)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if server.poll() is not None:
            raise AssertionError(f"the server exited with {server.returncode} before it answered")
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the server did not answer within {timeout} s")


def acknowledged_ids(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split() if path.exists() else []


def wait_for_acknowledged(path: Path, at_least: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(acknowledged_ids(path)) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {at_least} messages acknowledged after {timeout} s")
        time.sleep(0.05)


def stored_message_ids(database: Path) -> list[str]:
    """Every stored event's message id (duplicates included), read once the server is gone."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return [row[0] for row in connection.execute("SELECT message_id FROM events").fetchall()]


@pytest.mark.slow
def test_acknowledged_messages_survive_a_kill_and_retries_add_nothing_twice(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    database = workspace.database_path
    key = add_keys(workspace, {"ingest": ("ingest", None, None)})["ingest"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    acknowledged, stop, log = tmp_path / "acknowledged.txt", tmp_path / "stop", tmp_path / "server.log"

    server = start_server(workspace.root, port, log)
    sender = subprocess.Popen(
        [sys.executable, "-m", "tests.test_api_durability", url, key, str(acknowledged), str(stop)],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first_start = wait_for_health(url, server)
        wait_for_acknowledged(acknowledged, 30 * MESSAGES_PER_BATCH, timeout=30)
        time.sleep(1.0)  # sustained load: the kill lands while batches are in flight
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        before_kill = acknowledged_ids(acknowledged)
        # the dead process's lock is gone: the file opens, and holds all it acknowledged
        at_kill = stored_message_ids(database)

        # the killed process held DuckDB's lock; the new one must open the file at once
        server = start_server(workspace.root, port, log)
        restart = wait_for_health(url, server)
        wait_for_acknowledged(acknowledged, len(before_kill) + 10 * MESSAGES_PER_BATCH, timeout=30)
        stop.touch()
        report_text, _ = sender.communicate(timeout=GIVE_UP_AFTER_SECONDS)
        assert sender.returncode == 0, f"the sender failed: {report_text}\nserver log:\n{log.read_text()}"
        server.send_signal(signal.SIGTERM)  # a clean stop this time: the database is read next
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
    finally:
        for process in (sender, server):
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    report = json.loads(report_text)
    retried_after_commit = len(set(at_kill) - set(before_kill))  # committed, the answer lost with the server
    print(
        f"\nfirst start {first_start:.2f} s, restart after SIGKILL {restart:.2f} s; sender: {report}; "
        f"committed but unanswered at the kill: {retried_after_commit} messages"
    )

    assert set(before_kill) <= set(at_kill), "a message acknowledged before the kill is not in the file"

    assert report["failed_attempts"] > 0, "the kill did not interrupt the load; the test proved nothing"
    assert report["answers_lost"] > 0, "no answer was lost: no retry resent stored messages"
    expected = acknowledged_ids(acknowledged)
    assert len(expected) == len(set(expected)) == report["batches"] * MESSAGES_PER_BATCH
    stored = stored_message_ids(database)
    assert len(stored) == len(set(stored)), "a message is stored twice"
    assert set(stored) - set(expected) == set(), "a message nobody acknowledged was stored"
    assert set(expected) - set(stored) == set(), "an acknowledged message was lost"


def test_a_client_that_hangs_up_mid_body_stores_nothing_and_is_no_server_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A hang-up is not an error of the server (no traceback in its log), and half a batch is not stored."""
    server_log = logging.getLogger("uvicorn.error")  # it does not propagate to the root logger
    with serving(tmp_path / "ws") as served:
        server_log.addHandler(caplog.handler)  # once the server has set up its logging
        try:
            send_half_a_batch(served)
            with served.client("ingest") as http:  # a request after it is served as usual
                message = {"type": "track", "messageId": "after", "userId": "u", "event": "e"}
                assert http.post("/v1/batch", json={"batch": [message]}).status_code == 200
        finally:
            server_log.removeHandler(caplog.handler)
        with served.runtime.locked() as store:
            assert store.count("events") == 1
    errors = [record for record in caplog.records if record.name == "uvicorn.error" and record.levelno >= logging.ERROR]
    assert [record.getMessage() for record in errors] == []


def send_half_a_batch(served: Served) -> None:
    """Headers announcing a whole batch, half its body, then the connection closes."""
    body = orjson.dumps(batch_of([f"half-{index}" for index in range(MESSAGES_PER_BATCH)]))
    head = (
        f"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {served.keys['ingest']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(head.encode() + body[: len(body) // 2])


# -- the sender (run in its own process by the test above) -----------------------------------


class Sender:
    """Threads posting batches of new messages until the stop file appears (see the module docstring)."""

    def __init__(self, url: str, key: str, acknowledged: Path, stop: Path) -> None:
        self.url, self.key, self.acknowledged, self.stop = url, key, acknowledged, stop
        self.lock = threading.Lock()
        self.batches = 0
        self.failed_attempts = 0
        self.answers_lost = 0
        self.errors: list[str] = []

    def run(self, threads: int) -> int:
        workers = [threading.Thread(target=self._send_batches, args=(number,)) for number in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        counts = {"batches": self.batches, "failed_attempts": self.failed_attempts, "answers_lost": self.answers_lost}
        print(json.dumps({**counts, "errors": self.errors}))
        return 1 if self.errors else 0

    def _send_batches(self, thread: int) -> None:
        with httpx.Client(base_url=self.url, auth=(self.key, ""), timeout=10) as http:
            number = 0
            while not self.stop.exists() and not self.errors:
                ids = [f"t{thread}-b{number}-m{index}" for index in range(MESSAGES_PER_BATCH)]
                if not self._deliver(http, batch_of(ids), answer_lost=number % ANSWER_LOST_EVERY == 0):
                    return
                with self.lock, self.acknowledged.open("a", encoding="utf-8") as output:
                    output.write("\n".join(ids) + "\n")
                    self.batches += 1
                number += 1

    def _deliver(self, http: httpx.Client, body: dict[str, object], answer_lost: bool) -> bool:
        """Post until a 2xx (True); False on a 4xx or after GIVE_UP_AFTER_SECONDS.

        When ``answer_lost``, the answer to the first attempt is ignored, as if the connection
        had broken after the commit: the retry resends messages that are already stored."""
        if answer_lost:
            try:
                if http.post("/v1/batch", json=body).is_success:
                    with self.lock:
                        self.answers_lost += 1
            except httpx.TransportError:
                pass
        deadline = time.monotonic() + GIVE_UP_AFTER_SECONDS
        while time.monotonic() < deadline:
            try:
                response = http.post("/v1/batch", json=body)
            except httpx.TransportError:
                response = None
            if response is not None and response.is_success:
                return True
            if response is not None and response.is_client_error:
                self.errors.append(f"{response.status_code}: {response.text}")
                return False
            with self.lock:
                self.failed_attempts += 1
            time.sleep(0.05)
        self.errors.append(f"no 2xx within {GIVE_UP_AFTER_SECONDS} s")
        return False


def batch_of(ids: list[str]) -> dict[str, object]:
    """Track and page messages of 500 leads, one per id."""
    messages: list[dict[str, object]] = []
    for position, message_id in enumerate(ids):
        user = f"lead-{zlib.crc32(message_id.encode()) % 500}"
        if position % 3:
            messages.append({"type": "track", "messageId": message_id, "userId": user, "event": "Webinar Attended"})
        else:
            page = {"path": "/pricing"}
            messages.append({"type": "page", "messageId": message_id, "userId": user, "properties": page})
    return {"batch": messages}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Send batches until a stop file appears.")
    for name in ("url", "key", "acknowledged", "stop"):
        parser.add_argument(name)
    args = parser.parse_args(argv)
    return Sender(args.url, args.key, Path(args.acknowledged), Path(args.stop)).run(SENDER_THREADS)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
