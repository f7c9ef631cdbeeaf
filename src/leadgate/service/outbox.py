"""The outbox: collect the notices the playbook's ``notify:`` rules ask for, and deliver them.

:func:`collect` turns the lifecycle facts recorded since the last collection into notices and
queues them, in one transaction with the cursor, so a fact is collected once whoever wrote it
(the server's worker after each cycle, or ``leadgate cycle`` before ``leadgate webhooks
deliver`` or the server's next start).

:class:`Outbox` delivers: at least once, and in order for each lead and destination (a
lead's later notice to a receiver waits while an earlier one to that receiver is pending).
A failed attempt is retried after ``notify_retry_seconds``, doubling each time up to an hour;
after ``notify_max_attempts`` the notice is dead, listed by ``leadgate webhooks list`` and
``GET /v1/webhooks/dead`` until someone retries it. The database is touched under the
runtime's lock; sending happens outside it, so a slow receiver never holds a cycle up.

Delivered notices older than ``outbox_keep_days`` are deleted when the outbox delivers, at
most once an hour (one DELETE), so the table does not grow with every notice ever sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass

from leadgate.errors import LeadgateError
from leadgate.lifecycle.notifications import notices_of, retry_delay
from leadgate.playbook.compiled import Playbook
from leadgate.playbook.model import PlaybookModel
from leadgate.service.delivery import RETRY_CAP_SECONDS, DeliverySettings, http_client, send
from leadgate.store.base import Store
from leadgate.store.outbox_store import OutboxEntry, OutboxStore, Sendable

log = logging.getLogger("leadgate.outbox")

HEADS_PER_PASS = 100
SENDERS = 4  # notices to different leads or destinations are sent side by side
IDLE_POLL_SECONDS = 30.0  # without news, look at the outbox this often anyway
# After queuing notices, the worker waits at most this long for the delivery thread to read
# them before its next cycle takes the lock again (see Outbox.hand_over).
PICK_WAIT_SECONDS = 0.1
PRUNE_EVERY = dt.timedelta(hours=1)  # the delivered notices to delete pile up slowly: no need to look often


def collect(store: Store, model: PlaybookModel, now: dt.datetime, max_age_hours: float = 0.0) -> int:
    """Queue the notices of the facts recorded since the last collection; how many were queued.

    Facts older than ``max_age_hours`` (0: no limit) are passed over: a replayed or
    back-dated history notifies nobody.
    """
    outbox = OutboxStore(store)
    triggers = [rule.on for rule in model.notify]
    stages = sorted({trigger.stage for trigger in triggers if trigger.kind == "stage" and trigger.stage})
    not_before = now - dt.timedelta(hours=max_age_hours) if max_age_hours > 0 else dt.datetime.min
    with store.transaction():
        since, top = outbox.cursor(), outbox.top_seq()
        if top <= since:
            return 0
        histories = outbox.histories(
            since,
            top,
            stages,
            assigned=any(trigger.kind == "assigned" for trigger in triggers),
            breached=any(trigger.kind == "sla_breached" for trigger in triggers),
            not_before=not_before,
        )
        notices = notices_of(histories, outbox.lead_ids(histories), since, model, not_before)
        added = outbox.add(notices, now)
        outbox.set_cursor(top)
    return added


def precise_utc_now() -> dt.datetime:
    """Now, in naive UTC to the microsecond."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class DeliveryCounts:
    delivered: int = 0
    failed: int = 0  # attempts that failed and will be tried again
    dead: int = 0  # attempts that failed for the last time


class Outbox:
    """Queues each cycle's notices (:meth:`queue`) and delivers on its own thread (see the module docstring)."""

    def __init__(
        self,
        settings: DeliverySettings,
        locked: Callable[[], AbstractContextManager[Store]],
        playbook: Callable[[], Playbook],
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.settings = settings
        self._locked = locked
        self._playbook = playbook
        self._now = now or precise_utc_now  # retries may be due within a second
        self._wake = threading.Event()
        self._picked = threading.Event()  # set each time the delivery thread has read what is due
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="leadgate-outbox", daemon=True)
        self._senders = ThreadPoolExecutor(SENDERS, thread_name_prefix="leadgate-send")
        self._http = http_client()
        self.counts = DeliveryCounts()
        self.collected = 0
        self.pruned = 0
        self._pruned_at: dt.datetime | None = None
        self._sendable = Sendable(
            webhooks=bool(settings.webhook_secret),
            emails=bool(settings.smtp_host),
            rep_names=bool(settings.rep_email_domain),
        )

    def start(self) -> None:
        if not self.settings.webhook_secret and self._has_webhooks():
            log.error("webhook_secret is not set: the playbook's webhooks wait until it is (see docs/settings.md)")
        self._thread.start()

    def _has_webhooks(self) -> bool:
        try:
            return any(rule.send == "webhook" for rule in self._playbook().model.notify)
        except LeadgateError:  # a broken playbook is the cycle's to report
            return False

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._senders.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    def wake(self) -> None:
        """Look at the outbox now (new notices, or a dead one retried)."""
        self._wake.set()

    def queue(self, store: Store) -> int:
        """:func:`collect` with the playbook in force, on ``store``, whose lock the caller holds;
        how many notices were queued. The server's worker calls it at the end of each cycle,
        before it lets the lock go: when it took the lock again instead, the lock went to
        whoever had waited for it meanwhile (27 ms at the median under the service bench's
        load), and every notice waited as long."""
        queued = collect(store, self._playbook().model, self._now(), self.settings.max_age_hours)
        self.collected += queued
        return queued

    def hand_over(self, queued: int) -> None:
        """Wake the delivery thread when notices were queued, and give it up to
        PICK_WAIT_SECONDS to read them: under load the worker starts its next cycle at once,
        and the delivery thread, which needs the same lock to read them, would wait for the
        whole cycle (a notice sent a third of a second later)."""
        if queued:
            self._picked.clear()
            self.wake()
            if self._thread.is_alive():
                self._picked.wait(PICK_WAIT_SECONDS)

    def prune(self) -> int:
        """Delete the delivered notices older than ``keep_days``, unless that was done less than
        an hour ago (or ``keep_days`` is 0); how many were deleted."""
        now = self._now()
        if self.settings.keep_days <= 0 or (self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY):
            return 0
        with self._locked() as store:
            deleted = OutboxStore(store).prune_delivered(now - dt.timedelta(days=self.settings.keep_days))
        self._pruned_at = now
        self.pruned += deleted
        if deleted:
            log.info("deleted %s notifications delivered more than %s days ago", deleted, self.settings.keep_days)
        return deleted

    def deliver_due(self) -> DeliveryCounts:
        """Attempt every notice due now, pass after pass, until none is left to attempt now
        (pruning the old delivered ones first, see :meth:`prune`)."""
        self.prune()
        counts = DeliveryCounts()
        while not self._stopping.is_set():
            with self._locked() as store:
                heads = OutboxStore(store).due_heads(self._now(), HEADS_PER_PASS, self._sendable)
            self._picked.set()
            if not heads:
                break
            outcomes = list(self._senders.map(self._attempt, heads))  # no lock held while sending
            with self._locked() as store:
                for entry, error in zip(heads, outcomes, strict=True):
                    self._record(OutboxStore(store), entry, error, counts)
        self.counts.delivered += counts.delivered
        self.counts.failed += counts.failed
        self.counts.dead += counts.dead
        return counts

    def _attempt(self, entry: OutboxEntry) -> str | None:
        try:
            return send(entry.notice, self.settings, self._now(), self._http)
        except Exception as exc:  # a bug in a sender must not kill the thread: it is a failed attempt
            log.exception("sending %s failed unexpectedly", entry.notification_id)
            return f"{type(exc).__name__}: {exc}"

    def _record(self, outbox: OutboxStore, entry: OutboxEntry, error: str | None, counts: DeliveryCounts) -> None:
        now = self._now()
        if error is None:
            outbox.mark_delivered(entry.notification_id, now)
            counts.delivered += 1
            return
        attempts = entry.attempts + 1
        last = attempts >= self.settings.max_attempts
        retry_at = None if last else now + retry_delay(attempts, self.settings.retry_seconds, RETRY_CAP_SECONDS)
        outbox.mark_failed(entry.notification_id, error, retry_at)
        notice = entry.notice
        if last:
            counts.dead += 1
            log.error(
                "%s %s to %s is dead after %s attempts: %s",
                *(notice.channel, notice.notification_id, notice.destination, attempts, error),
            )
        else:
            counts.failed += 1
            log.warning(
                "%s %s to %s failed (attempt %s of %s): %s",
                *(notice.channel, notice.notification_id, notice.destination, attempts, self.settings.max_attempts),
                error,
            )

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.deliver_due()
                wait = self._seconds_to_next_due()
            except Exception:  # logged, never fatal to the thread: the next wake tries again
                log.exception("the outbox failed")
                wait = IDLE_POLL_SECONDS
            self._wake.wait(wait)
            self._wake.clear()

    def _seconds_to_next_due(self) -> float:
        with self._locked() as store:
            due = OutboxStore(store).next_head_due(self._sendable)
        if due is None:
            return IDLE_POLL_SECONDS
        return min(max((due - self._now()).total_seconds(), 0.0), IDLE_POLL_SECONDS)
