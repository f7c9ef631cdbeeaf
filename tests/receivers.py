"""Real local receivers for what the outbox sends: a webhook endpoint and an SMTP server.

``Receiver`` is an HTTP server on a free port (or ``port``) that answers 500 to the first
``failures`` requests (only to those about ``failing_lead`` when one is named), then 200, and
keeps every request with when it arrived (the service bench times notifications with it). ``Inbox`` is an aiosmtpd server that keeps every message it is given.
"""

from __future__ import annotations

import email
import email.policy
import json
import math
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller

from tests.service_fixtures import free_port


@dataclass(frozen=True)
class Request:
    status: int  # what the receiver answered
    headers: dict[str, str]
    body: bytes
    arrived: float  # time.monotonic() when it came in

    @property
    def payload(self) -> dict[str, Any]:
        found = json.loads(self.body)
        assert isinstance(found, dict)
        return found


@dataclass
class Receiver:
    failures: float = 0  # math.inf: never succeeds (until recover())
    failing_lead: str | None = None
    port: int = 0  # 0: a free one
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.monotonic()
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver._answer(body)
                with receiver._lock:
                    receiver.requests.append(Request(status, dict(self.headers.items()), body, arrived))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no")

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/leadgate"

    def _answer(self, body: bytes) -> int:
        with self._lock:
            about = json.loads(body).get("lead_id")
            if self.failures > 0 and (self.failing_lead is None or about == self.failing_lead):
                self.failures -= 1
                return 500
            return 200

    def recover(self) -> None:
        with self._lock:
            self.failures = 0

    def never_succeed(self) -> None:
        with self._lock:
            self.failures = math.inf

    def delivered(self) -> list[dict[str, Any]]:
        """The payloads answered 200, in the order they arrived."""
        with self._lock:
            return [request.payload for request in self.requests if request.status == 200]

    def first_arrivals(self) -> dict[str, float]:
        """When the first request about each lead arrived (``time.monotonic()``)."""
        with self._lock:
            requests = list(self.requests)
        found: dict[str, float] = {}
        for request in requests:
            found.setdefault(str(request.payload["lead_id"]), request.arrived)
        return found

    def __enter__(self) -> Receiver:
        self._thread = threading.Thread(target=self.server.serve_forever, name="test-receiver", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


@dataclass
class Inbox:
    """An SMTP server on a free local port; ``messages`` holds (recipients, message)."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def __enter__(self) -> Inbox:
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._controller.stop()
