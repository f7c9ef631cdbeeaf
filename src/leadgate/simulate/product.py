"""Product usage after a trial starts: sessions, features, invitations, plan limits.

Keener trial users come back on more days, try the key features (reports, integrations,
API), invite teammates and hit the plan's limits: the signals of a product-qualified lead.
A trial lasts a month; a customer keeps using the product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadgate.simulate.arrays import Floats, Ints, choose
from leadgate.simulate.clock import MINUTE, Clock
from leadgate.simulate.events import EventBatch
from leadgate.simulate.templates import FEATURES, KEY_FEATURES, template, weights

SESSIONS_PER_DAY = 0.25
SESSIONS_PER_PROPENSITY = 1.2
FEATURES_PER_SESSION = 1.2
FEATURES_PER_PROPENSITY = 2.0
MEAN_MINUTES_BETWEEN_FEATURES = 4
INVITES_PER_DAY, INVITES_PER_PROPENSITY = 0.01, 0.1
LIMIT_HITS_PER_DAY, LIMIT_HITS_PER_PROPENSITY = 0.01, 0.08


@dataclass(frozen=True)
class Trials:
    """The leads that started a trial, and for how long they use the product."""

    person: Ints
    zone: Ints
    started_at: Ints
    ends: Ints  # the end of the trial, or of the window for customers
    propensity: Floats
    engagement: Floats


def product_usage(rng: np.random.Generator, clock: Clock, trials: Trials) -> EventBatch:
    """Sessions with the features used in them, invitations and plan-limit hits."""
    start = trials.started_at + 10 * MINUTE
    keenness = trials.propensity
    session_rate = (SESSIONS_PER_DAY + SESSIONS_PER_PROPENSITY * keenness) * np.sqrt(trials.engagement)
    user, session_at = clock.occurrences(rng, start, trials.ends, trials.zone, session_rate)
    uses = rng.poisson(FEATURES_PER_SESSION + FEATURES_PER_PROPENSITY * keenness[user])
    session = np.repeat(np.arange(len(user)), uses)
    first_use = np.concatenate([[0], np.cumsum(uses)[:-1]])
    gaps = rng.exponential(MEAN_MINUTES_BETWEEN_FEATURES * MINUTE, len(session))
    elapsed = np.cumsum(gaps)
    before_session = (elapsed - gaps)[first_use[session]]
    used_at = session_at[session] + (elapsed - before_session).astype(np.int64)
    feature = _features(rng, keenness[user[session]])
    inviter, invited_at = clock.occurrences(
        rng, start, trials.ends, trials.zone, INVITES_PER_DAY + INVITES_PER_PROPENSITY * keenness
    )
    limited, limit_at = clock.occurrences(
        rng, start, trials.ends, trials.zone, LIMIT_HITS_PER_DAY + LIMIT_HITS_PER_PROPENSITY * keenness
    )
    person = trials.person
    return EventBatch.concat(
        [
            EventBatch.of(person[user], session_at, template("session_started")),
            EventBatch.of(person[user[session]], used_at, feature),
            EventBatch.of(person[inviter], invited_at, template("teammate_invited")),
            EventBatch.of(person[limited], limit_at, template("plan_limit_reached", limit="seats")),
        ]
    )


def _features(rng: np.random.Generator, keenness: Floats) -> Ints:
    """Keen users go for the key features; others spread over all of them."""
    size = len(keenness)
    any_feature = np.array([template("feature_used", feature=name) for name, _ in FEATURES])
    key_feature = np.array([template("feature_used", feature=name) for name in KEY_FEATURES])
    anywhere = any_feature[choose(rng, weights(FEATURES), size)]
    key = key_feature[rng.integers(0, len(KEY_FEATURES), size)]
    return np.where(rng.random(size) < keenness, key, anywhere)
