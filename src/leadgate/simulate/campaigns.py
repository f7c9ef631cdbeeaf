"""Marketing campaigns: the weekly newsletter and the fortnightly webinar.

The newsletter goes out on Tuesday at 10:00 in each recipient's time zone, to every lead
from the day it identified itself until it unsubscribes. Opens come within hours, a click a
few minutes after an open. Webinars are held every other Thursday at 16:00 in Paris; leads
register in the days before (a lead that came through a webinar invitation registered for
the first one after it arrived), and some of those attend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadgate.simulate.arrays import Bools, Floats, Ints
from leadgate.simulate.clock import DAY, HOUR, MINUTE, NEVER, Clock
from leadgate.simulate.events import EventBatch
from leadgate.simulate.templates import NEWSLETTER, WEBINAR_TOPICS, template

NEWSLETTER_DAY, NEWSLETTER_TIME = 1, 10 * HOUR  # Tuesday
WEBINAR_DAY, WEBINAR_TIME = 3, 16 * HOUR  # Thursday
MEAN_HOURS_TO_OPEN = 5
FADED_OPEN_FACTOR = 0.3  # opens once interest has faded
DAYS_OF_WEBINAR_PROMOTION = 10


@dataclass(frozen=True)
class Recipients:
    """The leads a campaign reaches, with how each of them responds."""

    person: Ints
    zone: Ints
    subscribed_at: Ints
    interest_ends: Ints
    open_chance: Floats
    click_chance: Floats  # given an open
    unsubscribe_chance: Floats  # per newsletter received
    webinar_chance: Floats  # of registering for a webinar while interested
    attend_chance: Floats  # given a registration
    registers_first_webinar: Bools  # came through a webinar invitation

    def __len__(self) -> int:
        return len(self.person)


def newsletter(rng: np.random.Generator, sends: Ints, recipients: Recipients) -> EventBatch:
    """Opens, clicks and unsubscriptions; ``sends`` holds each zone's send moments."""
    sent = sends[recipients.zone]
    shape = sent.shape
    received = (sent >= recipients.subscribed_at[:, None]) & (sent < NEVER)
    quits = received & (rng.random(shape) < recipients.unsubscribe_chance[:, None])
    received &= np.cumsum(quits, axis=1) - quits == 0  # nothing after the first unsubscription
    quits &= received
    faded = sent >= recipients.interest_ends[:, None]
    open_chance = recipients.open_chance[:, None] * np.where(faded, FADED_OPEN_FACTOR, 1.0)
    opened = received & ((rng.random(shape) < open_chance) | quits)
    clicked = opened & (rng.random(shape) < recipients.click_chance[:, None])
    opened_at = sent + (rng.exponential(MEAN_HOURS_TO_OPEN * HOUR, shape)).astype(np.int64)
    clicked_at = opened_at + 20 + rng.exponential(3 * MINUTE, shape).astype(np.int64)
    quit_at = opened_at + 30 + rng.exponential(2 * MINUTE, shape).astype(np.int64)
    person = np.broadcast_to(recipients.person[:, None], shape)
    return EventBatch.concat(
        [
            EventBatch.of(person[opened], opened_at[opened], template("email_opened", **dict(NEWSLETTER))),
            EventBatch.of(person[clicked], clicked_at[clicked], template("email_clicked", **dict(NEWSLETTER))),
            EventBatch.of(person[quits], quit_at[quits], template("email_unsubscribed", **dict(NEWSLETTER))),
        ]
    )


def webinars(rng: np.random.Generator, clock: Clock, schedule: Ints, recipients: Recipients) -> EventBatch:
    """Registrations and attendances; ``schedule`` holds the webinars' moments."""
    held = np.broadcast_to(schedule[None, :], (len(recipients), len(schedule)))
    subscribed = recipients.subscribed_at[:, None]
    upcoming = held > subscribed
    first_upcoming = upcoming & (np.cumsum(upcoming, axis=1) == 1)
    invited = first_upcoming & recipients.registers_first_webinar[:, None]
    interested = upcoming & (held < recipients.interest_ends[:, None] + DAYS_OF_WEBINAR_PROMOTION * DAY)
    registered = invited | (interested & (rng.random(held.shape) < recipients.webinar_chance[:, None]))
    who, number = np.nonzero(registered)
    at = held[who, number]
    promotion_starts = np.maximum(recipients.subscribed_at[who], at - DAYS_OF_WEBINAR_PROMOTION * DAY)
    picked = clock.pick(rng, promotion_starts, at - HOUR, recipients.zone[who])
    registered_at = np.where(invited[who, number], recipients.subscribed_at[who], picked)
    attends = rng.random(len(who)) < recipients.attend_chance[who]
    joined_at = at + rng.integers(-5 * MINUTE, 10 * MINUTE, len(who))
    topic = number % len(WEBINAR_TOPICS)
    registration = np.array([template("webinar_registered", webinar=name) for name in WEBINAR_TOPICS])[topic]
    attendance = np.array([template("webinar_attended", webinar=name) for name in WEBINAR_TOPICS])[topic]
    person = recipients.person[who]
    return EventBatch.concat(
        [
            EventBatch.of(person, registered_at, registration),
            EventBatch.of(person[attends], joined_at[attends], attendance[attends]),
        ]
    )
