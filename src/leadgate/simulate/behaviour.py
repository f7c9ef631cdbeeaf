"""The event streams of a history, drawn block by block of people.

A block is up to :data:`LEADS_PER_BLOCK` leads (or :data:`VISITORS_PER_BLOCK` anonymous
visitors) with its own random stream, so memory stays flat however many leads there are and
the result does not depend on how a caller consumes the blocks. Within a block, events are
in time order. A lead's intensity of intent (pricing pages, product usage, hand raises)
grows with its hidden propensity; its general activity also varies with an engagement level
that says nothing about whether it will buy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from leadgate.simulate import catalogue as cat
from leadgate.simulate.arrays import Bools, Ints, choose
from leadgate.simulate.campaigns import (
    NEWSLETTER_DAY,
    NEWSLETTER_TIME,
    WEBINAR_DAY,
    WEBINAR_TIME,
    Recipients,
    newsletter,
    webinars,
)
from leadgate.simulate.clock import DAY, HOUR, NEVER
from leadgate.simulate.events import EventBatch
from leadgate.simulate.history import History, Stream
from leadgate.simulate.product import Trials, product_usage
from leadgate.simulate.templates import (
    PRICING_PAGES,
    SOURCE_CAMPAIGN,
    WEB_TEMPLATES,
    WHITEPAPER_TOPICS,
    page_templates,
    template,
    weights,
)
from leadgate.simulate.web import Browsers, page_views

LEADS_PER_BLOCK = 10_000
VISITORS_PER_BLOCK = 20_000

# A lead's behaviour: a base rate, scaled by (1 + factor * propensity) or plus share * propensity.
VISITS_PER_DAY, VISITS_PER_PROPENSITY = 0.12, 3.0
PAGES_PER_VISIT, PAGES_PER_PROPENSITY = 1.8, 2.5
INTENT_PAGE_SHARE, INTENT_SHARE_PER_PROPENSITY, MAX_INTENT_SHARE = 0.05, 0.6, 0.8
OPEN_CHANCE, OPENS_PER_PROPENSITY = 0.2, 1.0
CLICK_CHANCE, CLICKS_PER_PROPENSITY = 0.1, 0.4
UNSUBSCRIBE_CHANCE = 0.006  # times (1.5 - propensity)
WEBINAR_CHANCE, WEBINARS_PER_PROPENSITY = 0.03, 4.0
ATTEND_CHANCE, ATTENDS_PER_PROPENSITY = 0.35, 0.4
DOWNLOADS_PER_DAY, DOWNLOADS_PER_PROPENSITY = 0.01, 0.03
WHITEPAPER_WEIGHTS = (0.4, 0.25, 0.15, 0.2)  # of WHITEPAPER_TOPICS
GATED_CONTENT_SOURCES = ("organic", "paid_search", "linkedin")  # identified by a whitepaper form
PRICING_BURST_DAYS = 14
PRICING_VISITS_BEFORE_SQL = 2.5
TRIAL_DAYS = 30

# Anonymous visitors: a short interest, few pages, little intent.
VISITOR_INTEREST_DAYS = 4
VISITOR_VISITS_PER_DAY = 0.3
VISITOR_PAGES_PER_VISIT = 1.6
VISITOR_INTENT_SHARE = 0.04
VISITOR_JOB_SEEKER_SHARE = 0.1


@dataclass(frozen=True)
class Block:
    """The events of some people, and the ids each event carries."""

    people: int  # how many people the block covers
    leads: range  # the leads among them (empty for a block of visitors)
    events: EventBatch
    carries_user_id: Bools
    carries_anonymous_id: Bools


def event_blocks(history: History) -> Iterator[Block]:
    """Every event of the history, one block of people at a time."""
    sends = history.clock.weekly(NEWSLETTER_DAY, NEWSLETTER_TIME)
    fortnightly = history.clock.weekly(WEBINAR_DAY, WEBINAR_TIME)[cat.ZONES.index(cat.WEBINAR_ZONE), ::2]
    schedule = fortnightly[fortnightly < NEVER]
    number = 0
    for first in range(0, history.lead_count, LEADS_PER_BLOCK):
        leads = range(first, min(first + LEADS_PER_BLOCK, history.lead_count))
        rng = history.random(Stream.BEHAVIOUR, number)
        events = _lead_events(rng, history, np.arange(leads.start, leads.stop), sends, schedule)
        yield _block(history, len(leads), leads, events)
        number += 1
    visitor_count = len(history.world.visitors)
    for first in range(0, visitor_count, VISITORS_PER_BLOCK):
        visitors = np.arange(first, min(first + VISITORS_PER_BLOCK, visitor_count))
        events = _visitor_events(history.random(Stream.BEHAVIOUR, number), history, visitors)
        yield _block(history, len(visitors), range(0), events)
        number += 1


def _block(history: History, people: int, leads: range, events: EventBatch) -> Block:
    window = history.window
    events = events.where((events.moment >= window.start) & (events.moment < window.end)).in_time_order()
    is_lead = events.person < history.lead_count
    identified_at = history.arrivals.identified_at[np.where(is_lead, events.person, 0)]
    web = WEB_TEMPLATES[events.template]
    return Block(people, leads, events, is_lead & (events.moment >= identified_at), web)


def _lead_events(rng: np.random.Generator, history: History, lead: Ints, sends: Ints, schedule: Ints) -> EventBatch:
    clock, arrivals, activity = history.clock, history.arrivals, history.activity
    propensity = history.propensity[lead]
    engagement = activity.engagement[lead]
    zone = arrivals.zone[lead]
    identified_at = arrivals.identified_at[lead]
    interest_ends = np.minimum(activity.active_until[lead], clock.window.end)
    source = history.world.leads.source[lead]
    role = history.world.leads.role[lead]
    job_seeker = np.isin(role, [i for i, entry in enumerate(cat.ROLES) if entry.name in cat.JOB_SEEKER_ROLES])
    browsers = Browsers(
        person=lead,
        zone=zone,
        first_visit=arrivals.first_seen[lead],
        interest_ends=interest_ends,
        visits_per_day=VISITS_PER_DAY * engagement * (1 + VISITS_PER_PROPENSITY * propensity),
        pages_per_visit=PAGES_PER_VISIT + PAGES_PER_PROPENSITY * propensity,
        intent_share=np.minimum(INTENT_PAGE_SHARE + INTENT_SHARE_PER_PROPENSITY * propensity, MAX_INTENT_SHARE),
        job_seeker=job_seeker,
        campaign=SOURCE_CAMPAIGN[source],
    )
    recipients = Recipients(
        person=lead,
        zone=zone,
        subscribed_at=identified_at,
        interest_ends=interest_ends,
        open_chance=np.clip(OPEN_CHANCE * engagement * (1 + OPENS_PER_PROPENSITY * propensity), 0.02, 0.8),
        click_chance=CLICK_CHANCE + CLICKS_PER_PROPENSITY * propensity,
        unsubscribe_chance=UNSUBSCRIBE_CHANCE * (1.5 - propensity),
        webinar_chance=np.minimum(WEBINAR_CHANCE * engagement * (1 + WEBINARS_PER_PROPENSITY * propensity), 0.5),
        attend_chance=ATTEND_CHANCE + ATTENDS_PER_PROPENSITY * propensity,
        registers_first_webinar=source == _source("webinar"),
    )
    return EventBatch.concat(
        [
            page_views(rng, history.clock, browsers),
            _content(rng, history, lead, interest_ends),
            _pricing_burst(rng, history, lead),
            _hand_raises(history, lead),
            newsletter(rng, sends, recipients),
            webinars(rng, clock, schedule, recipients),
            product_usage(rng, clock, _trials(history, lead)),
        ]
    )


def _content(rng: np.random.Generator, history: History, lead: Ints, interest_ends: Ints) -> EventBatch:
    """The gated whitepaper that identified a web lead, and later downloads."""
    identified_at = history.arrivals.identified_at[lead]
    gated = np.isin(history.world.leads.source[lead], [_source(name) for name in GATED_CONTENT_SOURCES])
    later, later_at = history.clock.occurrences(
        rng,
        identified_at + HOUR,
        interest_ends,
        history.arrivals.zone[lead],
        (DOWNLOADS_PER_DAY + DOWNLOADS_PER_PROPENSITY * history.propensity[lead]) * history.activity.engagement[lead],
    )
    downloaded = np.concatenate([lead[gated], lead[later]])
    topics = np.array([template("whitepaper_downloaded", topic=topic) for topic in WHITEPAPER_TOPICS])
    topic = topics[choose(rng, WHITEPAPER_WEIGHTS, len(downloaded))]
    return EventBatch.of(downloaded, np.concatenate([identified_at[gated], later_at]), topic)


def _pricing_burst(rng: np.random.Generator, history: History, lead: Ints) -> EventBatch:
    """The pricing pages a lead reads in the two weeks before it becomes an SQL."""
    sql_at = history.outcomes.sql_at[lead]
    qualified = sql_at < NEVER
    end = np.where(qualified, sql_at, 0)
    start = np.where(qualified, np.maximum(history.arrivals.identified_at[lead], end - PRICING_BURST_DAYS * DAY), 0)
    reader, read_at = history.clock.occurrences(
        rng, start, end, history.arrivals.zone[lead], np.full(len(lead), PRICING_VISITS_BEFORE_SQL / PRICING_BURST_DAYS)
    )
    pages = page_templates(PRICING_PAGES)[choose(rng, weights(PRICING_PAGES), len(reader))]
    return EventBatch.of(lead[reader], read_at, pages)


def _hand_raises(history: History, lead: Ints) -> EventBatch:
    raised = history.hand_raises
    moments = (
        (raised.trial_at[lead], template("trial_started", plan="teams")),
        (raised.demo_at[lead], template("demo_requested")),
        (raised.contact_sales_at[lead], template("contact_sales_form")),
    )
    return EventBatch.concat([EventBatch.of(lead[at < NEVER], at[at < NEVER], kind) for at, kind in moments])


def _trials(history: History, lead: Ints) -> Trials:
    started_at = history.hand_raises.trial_at[lead]
    tried = started_at < NEVER
    customer = history.outcomes.won[lead]
    ends = np.where(customer, history.window.end, np.minimum(started_at + TRIAL_DAYS * DAY, history.window.end))
    return Trials(
        person=lead[tried],
        zone=history.arrivals.zone[lead][tried],
        started_at=started_at[tried],
        ends=ends[tried],
        propensity=history.propensity[lead][tried],
        engagement=history.activity.engagement[lead][tried],
    )


def _visitor_events(rng: np.random.Generator, history: History, visitor: Ints) -> EventBatch:
    visitors, window = history.world.visitors, history.window
    zone = visitors.zone[visitor]
    count = len(visitor)
    first_visit = history.clock.pick(rng, np.full(count, window.start), np.full(count, window.end - HOUR), zone)
    interest = (rng.exponential(VISITOR_INTEREST_DAYS, count) * DAY).astype(np.int64)
    browsers = Browsers(
        person=history.lead_count + visitor,
        zone=zone,
        first_visit=first_visit,
        interest_ends=np.minimum(first_visit + interest, window.end),
        visits_per_day=np.full(count, VISITOR_VISITS_PER_DAY),
        pages_per_visit=np.full(count, VISITOR_PAGES_PER_VISIT),
        intent_share=np.full(count, VISITOR_INTENT_SHARE),
        job_seeker=rng.random(count) < VISITOR_JOB_SEEKER_SHARE,
        campaign=visitors.campaign[visitor],
    )
    return page_views(rng, history.clock, browsers)


def _source(name: str) -> int:
    return [entry.name for entry in cat.LEAD_SOURCES].index(name)
