"""E-mails over TLS, against a real local SMTP server (aiosmtpd) with a throwaway certificate.

Each test makes its own certificate authority (trustme) and a certificate for the server's
address, so the client's checks are the real ones: the chain must lead to a trusted CA (the
``smtp_ca_file`` setting) and the certificate must name the host leadgate connected to. The
STARTTLS server refuses mail and logins before STARTTLS, so a delivered message proves the
upgrade happened; the handler also records the TLS version of the connection it came over.
"""

from __future__ import annotations

import datetime as dt
import ssl
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from leadgate.errors import SettingError
from leadgate.lifecycle.notifications import Notice
from leadgate.service.delivery import DeliverySettings, delivery_settings, send_email
from leadgate.service.outbox import Outbox
from leadgate.store.duckdb_store import DuckDBStore
from leadgate.store.outbox_store import OutboxStore
from tests.receivers import Inbox
from tests.service_fixtures import free_port
from tests.test_outbox import defaults, notice, playbook_notifying

HOST = "127.0.0.1"
USER, PASSWORD = "leadgate", "s3cret-over-tls"
START = dt.datetime(2026, 11, 20, 9, 0)


@dataclass
class TlsInbox(Inbox):
    """An :class:`Inbox` behind TLS: ``starttls`` (plain, then STARTTLS, required before mail
    and logins, with a login required) or ``ssl`` (TLS from the first byte)."""

    mode: str = "starttls"
    certificate: trustme.LeafCert | None = None
    tls_versions: list[str] = field(default_factory=list)  # the TLS version each message came over
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        tls = server.transport.get_extra_info("ssl_object")
        self.tls_versions.append(tls.version() if tls is not None else "none")
        return await super().handle_DATA(server, session, envelope)

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        good = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
        if good:
            self.logins.append(data.login.decode())
        return AuthResult(success=good, handled=False)  # not handled: the server answers 535 to a bad login

    def __enter__(self) -> TlsInbox:
        assert self.certificate is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.certificate.configure_cert(context)
        self.port = free_port()
        if self.mode == "ssl":
            self._controller = Controller(self, hostname=HOST, port=self.port, ssl_context=context)
        else:
            self._controller = Controller(
                self,
                hostname=HOST,
                port=self.port,
                tls_context=context,
                require_starttls=True,
                authenticator=self.authenticate,
                auth_required=True,
            )
        self._controller.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._controller.stop()


def ca_file(ca: trustme.CA, tmp_path: Path, name: str = "ca.pem") -> str:
    path = tmp_path / name
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def email_notice(seq: int = 1) -> Notice:
    return replace(notice("ann", 1, seq, ""), channel="email", destination="carla")


def mail_settings(inbox: TlsInbox, tls: str, ca: str, **changes: Any) -> DeliverySettings:
    values: dict[str, Any] = {
        "smtp_host": HOST,
        "smtp_port": inbox.port,
        "smtp_tls": tls,
        "smtp_from": "leadgate@acme.example",
        "rep_email_domain": "acme.example",
        "smtp_ca_file": ca,
        **changes,
    }
    return DeliverySettings(**values)


def test_starttls_upgrades_before_the_login_and_the_message(tmp_path: Path) -> None:
    ca = trustme.CA()
    with TlsInbox(mode="starttls", certificate=ca.issue_cert(HOST)) as inbox:
        settings = mail_settings(inbox, "starttls", ca_file(ca, tmp_path), smtp_user=USER, smtp_password=PASSWORD)
        assert send_email(email_notice(), settings) is None
        # the same server refuses a client that stays in plain text: the upgrade is what let the mail in
        refused = send_email(email_notice(2), replace(settings, smtp_tls="none", smtp_user=""))
        bad_login = send_email(email_notice(3), replace(settings, smtp_password="guess"))
    assert refused == "SMTPSenderRefused: (530, b'Must issue a STARTTLS command first', 'leadgate@acme.example')"
    assert bad_login is not None and bad_login.startswith("SMTPAuthenticationError: (535")
    assert inbox.logins == [USER]
    ((recipients, message),) = inbox.messages
    assert recipients == ["carla@acme.example"]
    assert message["Subject"] == "[leadgate] Lead ann is now mql"
    assert inbox.tls_versions in (["TLSv1.2"], ["TLSv1.3"])


def test_implicit_tls_from_the_first_byte(tmp_path: Path) -> None:
    ca = trustme.CA()
    with TlsInbox(mode="ssl", certificate=ca.issue_cert(HOST)) as inbox:
        assert send_email(email_notice(), mail_settings(inbox, "ssl", ca_file(ca, tmp_path))) is None
    ((recipients, message),) = inbox.messages
    assert recipients == ["carla@acme.example"] and message["Leadgate-Notification-Id"] == "t1-1"
    assert inbox.tls_versions in (["TLSv1.2"], ["TLSv1.3"])


def test_an_untrusted_certificate_is_retried_then_dead_and_says_why(tmp_path: Path) -> None:
    """The server's CA is not the one leadgate trusts: no message, a failed attempt that names
    the problem, a retry, then a dead letter; retried with the right CA, it arrives."""
    server_ca, other_ca = trustme.CA(), trustme.CA()
    store = DuckDBStore(tmp_path / "leadgate.duckdb")
    clock = [START]
    try:
        with TlsInbox(mode="ssl", certificate=server_ca.issue_cert(HOST)) as inbox:
            OutboxStore(store).add([email_notice()], START)
            wrong = mail_settings(inbox, "ssl", ca_file(other_ca, tmp_path), max_attempts=2, retry_seconds=30.0)
            outbox = Outbox(wrong, lambda: nullcontext(store), lambda: playbook_notifying(), now=lambda: clock[0])
            try:
                assert outbox.deliver_due().failed == 1
                entry = OutboxStore(store).entry("t1-1")
                assert entry is not None and (entry.status, entry.attempts) == ("pending", 1)
                assert entry.next_attempt_at == START + dt.timedelta(seconds=30)
                expected = (
                    f"the certificate of the SMTP server {HOST}:{inbox.port} is not trusted "
                    "(unable to get local issuer certificate); if a private CA issued it, give that CA in smtp_ca_file"
                )
                assert entry.last_error == expected
                assert outbox.deliver_due().failed == 0  # not due yet
                clock[0] = START + dt.timedelta(seconds=30)
                assert outbox.deliver_due().dead == 1
            finally:
                outbox.stop()
            dead = OutboxStore(store).entry("t1-1")
            assert dead is not None and (dead.status, dead.attempts, dead.last_error) == ("dead", 2, expected)
            assert inbox.messages == []

            assert OutboxStore(store).retry(["t1-1"], clock[0]) == 1
            right = replace(wrong, smtp_ca_file=ca_file(server_ca, tmp_path, "server-ca.pem"))
            outbox = Outbox(right, lambda: nullcontext(store), lambda: playbook_notifying(), now=lambda: clock[0])
            try:
                assert outbox.deliver_due().delivered == 1
            finally:
                outbox.stop()
        assert len(inbox.messages) == 1
    finally:
        store.close()


def test_a_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    ca = trustme.CA()
    with TlsInbox(mode="starttls", certificate=ca.issue_cert("mail.acme.example")) as inbox:
        error = send_email(email_notice(), mail_settings(inbox, "starttls", ca_file(ca, tmp_path)))
    assert error is not None and "is not trusted" in error and "mismatch" in error
    assert inbox.messages == []


def test_the_ca_file_is_checked_with_the_settings(tmp_path: Path) -> None:
    ca = trustme.CA()
    assert delivery_settings(defaults(smtp_ca_file=ca_file(ca, tmp_path))).smtp_ca_file.endswith("ca.pem")
    with pytest.raises(SettingError, match=r"^setting smtp_ca_file: cannot load CA certificates from .*missing\.pem"):
        delivery_settings(defaults(smtp_ca_file=str(tmp_path / "missing.pem")))
    not_pem = tmp_path / "notes.pem"
    not_pem.write_text("not a certificate\n", encoding="utf-8")
    with pytest.raises(SettingError, match="setting smtp_ca_file: cannot load CA certificates"):
        delivery_settings(defaults(smtp_ca_file=str(not_pem)))
