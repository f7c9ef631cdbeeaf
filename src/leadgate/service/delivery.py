"""Sending one notice: a signed webhook over HTTP, or an e-mail over SMTP; and their settings.

A webhook is a JSON POST whose ``Leadgate-Signature`` header (``t=TIMESTAMP,v1=HEX``) is the
HMAC-SHA256, keyed with the ``webhook_secret`` setting, of ``f"{TIMESTAMP}.{BODY}"``, as
Stripe signs its webhooks: a receiver checks that the request comes from leadgate and is
recent. A 2xx answer is a delivery; anything else, or no answer, is a failed attempt.

Each send returns None when delivered, or the reason it failed: the outbox decides about
retries (:mod:`leadgate.service.outbox`). A channel whose settings are missing does not fail:
its notices wait (:func:`waiting_reason`) until the settings are there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from importlib.metadata import version
from typing import Any

import httpx
import orjson

from leadgate.errors import SettingError
from leadgate.lifecycle.notifications import Notice, email_of, payload_of
from leadgate.settings import ResolvedSetting

SIGNATURE_HEADER = "Leadgate-Signature"
SEND_TIMEOUT_SECONDS = 10.0
RETRY_CAP_SECONDS = 3600.0  # the longest wait between two attempts
SMTP_TLS_MODES = ("none", "starttls", "ssl")
DEFAULT_SMTP_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


@dataclass(frozen=True)
class DeliverySettings:
    """The outbox's settings, checked (see docs/settings.md)."""

    webhook_secret: str = field(default="", repr=False)
    max_attempts: int = 20
    retry_seconds: float = 30.0
    max_age_hours: float = 24.0
    rep_email_domain: str = ""
    smtp_host: str = ""
    smtp_port: int = 0
    smtp_tls: str = "starttls"
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_from: str = ""
    smtp_ca_file: str = ""  # empty: the system's CA certificates
    keep_days: int = 30  # delivered notices older than this are pruned (0: never)

    @property
    def port(self) -> int:
        return self.smtp_port or DEFAULT_SMTP_PORTS[self.smtp_tls]


def delivery_settings(values: Mapping[str, Any]) -> DeliverySettings:
    """The outbox's settings from resolved setting values (name -> value); a bad value raises
    :class:`~leadgate.errors.SettingError` naming the setting."""
    found = DeliverySettings(
        webhook_secret=str(values["webhook_secret"]),
        max_attempts=int(values["notify_max_attempts"]),
        retry_seconds=float(values["notify_retry_seconds"]),
        max_age_hours=float(values["notify_max_age_hours"]),
        rep_email_domain=str(values["rep_email_domain"]).strip().lstrip("@"),
        smtp_host=str(values["smtp_host"]).strip(),
        smtp_port=int(values["smtp_port"]),
        smtp_tls=str(values["smtp_tls"]).strip().lower(),
        smtp_user=str(values["smtp_user"]),
        smtp_password=str(values["smtp_password"]),
        smtp_from=str(values["smtp_from"]).strip(),
        smtp_ca_file=str(values["smtp_ca_file"]).strip(),
        keep_days=int(values["outbox_keep_days"]),
    )
    problems = [
        (found.max_attempts < 1, "notify_max_attempts", "must be 1 or more"),
        (found.retry_seconds <= 0, "notify_retry_seconds", "must be more than 0 seconds"),
        (found.max_age_hours < 0, "notify_max_age_hours", "must be 0 (no limit) or more"),
        (found.smtp_tls not in SMTP_TLS_MODES, "smtp_tls", f"must be one of {', '.join(SMTP_TLS_MODES)}"),
        (not 0 <= found.smtp_port <= 65535, "smtp_port", "must be a port number (0: the usual one for smtp_tls)"),
        (" " in found.rep_email_domain or "@" in found.rep_email_domain, "rep_email_domain", "must be a domain"),
        (bool(found.smtp_from) and "@" not in found.smtp_from, "smtp_from", "must be an e-mail address"),
        (bool(found.smtp_host) and not found.smtp_from, "smtp_from", "is needed once smtp_host is set"),
        (found.keep_days < 0, "outbox_keep_days", "must be 0 (keep forever) or more"),
    ]
    for wrong, name, rule in problems:
        if wrong:
            raise SettingError(f"setting {name} {rule} (it is {values[name]!r})")
    if found.smtp_ca_file:
        try:  # a wrong path or a file without certificates stops the start, not every e-mail later
            smtp_ssl_context(found)
        except (OSError, ssl.SSLError) as exc:
            raise SettingError(
                f"setting smtp_ca_file: cannot load CA certificates from {found.smtp_ca_file} ({exc})"
            ) from None
    return found


def smtp_ssl_context(settings: DeliverySettings) -> ssl.SSLContext:
    """The context that checks the SMTP server's certificate and name: against ``smtp_ca_file``
    when it is set (a server with a private CA), else against the system's CA certificates."""
    return ssl.create_default_context(cafile=settings.smtp_ca_file or None)


def waiting_reason(notice: Notice, settings: DeliverySettings) -> str | None:
    """Why a notice cannot be sent with these settings (None: it can)."""
    if notice.channel == "webhook":
        return None if settings.webhook_secret else "webhook_secret is not set: webhooks wait until it is"
    if not settings.smtp_host:
        return "smtp_host is not set: e-mails wait until it is"
    if "@" not in notice.destination and not settings.rep_email_domain:
        return f"rep_email_domain is not set: no e-mail address for {notice.destination}"
    return None


def email_address(recipient: str, settings: DeliverySettings) -> str:
    """A recipient's address: as written when it is one, else the rep's name at ``rep_email_domain``."""
    return recipient if "@" in recipient else f"{recipient}@{settings.rep_email_domain}"


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """``t=TIMESTAMP,v1=HEX``: HMAC-SHA256 of ``TIMESTAMP.BODY`` keyed with the secret."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def send(notice: Notice, settings: DeliverySettings, now: dt.datetime, http: httpx.Client) -> str | None:
    """Send one notice now; None when it was delivered, else why not."""
    if notice.channel == "webhook":
        return send_webhook(notice, settings.webhook_secret, now, http)
    return send_email(notice, settings)


def http_client() -> httpx.Client:
    """The client webhooks go through: one for every sending thread (making one loads the CA
    certificates, a good part of a second)."""
    return httpx.Client(timeout=SEND_TIMEOUT_SECONDS, headers={"User-Agent": f"leadgate/{version('leadgate')}"})


def send_webhook(notice: Notice, secret: str, now: dt.datetime, http: httpx.Client) -> str | None:
    body = orjson.dumps(payload_of(notice))
    timestamp = int(now.replace(tzinfo=dt.UTC).timestamp())
    headers = {
        "Content-Type": "application/json",
        "Leadgate-Event": notice.event,
        "Leadgate-Notification-Id": notice.notification_id,
        SIGNATURE_HEADER: signature_header(secret, timestamp, body),
    }
    try:
        response = http.post(notice.destination, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        http.cookies.clear()  # a receiver's cookies are not sent back, to it or to another
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}: {response.text[:200].strip()}"


def send_email(notice: Notice, settings: DeliverySettings) -> str | None:
    subject, text = email_of(notice)
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = email_address(notice.destination, settings)
    message["Subject"] = subject
    message["Leadgate-Notification-Id"] = notice.notification_id
    message.set_content(text)
    try:
        if settings.smtp_tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host, settings.port, timeout=SEND_TIMEOUT_SECONDS, context=smtp_ssl_context(settings)
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.port, timeout=SEND_TIMEOUT_SECONDS)
        with smtp:
            if settings.smtp_tls == "starttls":
                smtp.starttls(context=smtp_ssl_context(settings))
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    except ssl.SSLCertVerificationError as exc:  # the most likely TLS mistake: say what to do about it
        return (
            f"the certificate of the SMTP server {settings.smtp_host}:{settings.port} is not trusted "
            f"({str(exc.verify_message).rstrip('.')}); if a private CA issued it, give that CA in smtp_ca_file"
        )
    except (smtplib.SMTPException, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def workspace_delivery_settings(settings: Mapping[str, ResolvedSetting]) -> DeliverySettings:
    """:func:`delivery_settings` of a workspace's resolved settings."""
    return delivery_settings({name: found.value for name, found in settings.items()})
