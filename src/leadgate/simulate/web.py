"""Website visits: sessions of page views, with the campaign that brought the visitor.

A browser's first visit comes from its campaign (the landing page carries the UTM fields);
later visits come back at a steady rate while interest lasts, a few of them through a
retargeting ad of the same campaign. Each page of a visit is a generic page, an intent page
(pricing, product, docs: more likely with a higher propensity) or, for job seekers, the
careers pages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadgate.simulate.arrays import Bools, Floats, Ints, choose
from leadgate.simulate.clock import MINUTE, Clock
from leadgate.simulate.events import NO_CAMPAIGN, EventBatch
from leadgate.simulate.templates import GENERIC_PAGES, INTENT_PAGES, JOB_SEEKER_PAGES, page_templates, weights

RETARGETED_SHARE = 0.2
JOB_SEEKER_SHARE = 0.4  # of a job seeker's pages that are about jobs
MEAN_SECONDS_ON_PAGE = 70
MIN_SECONDS_ON_PAGE = 5


@dataclass(frozen=True)
class Browsers:
    """People who visit the website, and how they browse it."""

    person: Ints
    zone: Ints
    first_visit: Ints
    interest_ends: Ints  # no later visit from then on
    visits_per_day: Floats
    pages_per_visit: Floats  # mean, at least 1
    intent_share: Floats  # of pages that are intent pages
    job_seeker: Bools
    campaign: Ints

    def __len__(self) -> int:
        return len(self.person)


def page_views(rng: np.random.Generator, clock: Clock, browsers: Browsers) -> EventBatch:
    """The page views of every visit of each browser."""
    returning, return_at = clock.occurrences(
        rng, browsers.first_visit + 30 * MINUTE, browsers.interest_ends, browsers.zone, browsers.visits_per_day
    )
    visitor = np.concatenate([np.arange(len(browsers)), returning])
    visit_at = np.concatenate([browsers.first_visit, return_at])
    tagged = np.concatenate([np.ones(len(browsers), dtype=bool), rng.random(len(returning)) < RETARGETED_SHARE])
    visit_campaign = np.where(tagged, browsers.campaign[visitor], NO_CAMPAIGN)

    pages = rng.geometric(1.0 / browsers.pages_per_visit[visitor])
    visit = np.repeat(np.arange(len(visitor)), pages)
    landing = np.concatenate([[0], np.cumsum(pages)[:-1]])
    position = np.arange(len(visit)) - landing[visit]
    seconds_on_page = np.where(
        position == 0, 0, MIN_SECONDS_ON_PAGE + rng.exponential(MEAN_SECONDS_ON_PAGE, len(visit))
    )
    elapsed = np.cumsum(seconds_on_page)
    offset = (elapsed - elapsed[landing[visit]]).astype(np.int64)

    owner = visitor[visit]
    template = _pages(rng, browsers.intent_share[owner], browsers.job_seeker[owner])
    campaign = np.where(position == 0, visit_campaign[visit], NO_CAMPAIGN)
    return EventBatch.of(browsers.person[owner], visit_at[visit] + offset, template, campaign)


def _pages(rng: np.random.Generator, intent_share: Floats, job_seeker: Bools) -> Ints:
    size = len(intent_share)
    generic = page_templates(GENERIC_PAGES)[choose(rng, weights(GENERIC_PAGES), size)]
    intent = page_templates(INTENT_PAGES)[choose(rng, weights(INTENT_PAGES), size)]
    jobs = page_templates(JOB_SEEKER_PAGES)[choose(rng, weights(JOB_SEEKER_PAGES), size)]
    draw = rng.random(size)
    return np.where(draw < intent_share, intent, np.where(job_seeker & (draw > 1 - JOB_SEEKER_SHARE), jobs, generic))
