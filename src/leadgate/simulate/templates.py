"""The kinds of event the simulator emits, each a template numbered once.

A simulated event is a (person, moment, template, campaign) tuple of integers; its name,
path and properties come from its template. Names are written the way real trackers write
them, some as Segment's "Object Action" and some in snake case (leadgate normalises both).
Templates tracked by the website carry the visitor's anonymous id; e-mail and product events
carry only the user id, as an e-mail platform or a product back end would send them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from leadgate.domain.events import PAGE_EVENT, normalize_event_name
from leadgate.simulate.arrays import Ints
from leadgate.simulate.catalogue import LEAD_SOURCES, Utm


@dataclass(frozen=True)
class Template:
    """One kind of event, with its fixed name, path and properties."""

    kind: str  # page or track
    name: str  # as the tracker sends it
    path: str | None
    properties: tuple[tuple[str, str], ...]
    web: bool  # tracked by the website (carries the anonymous id)

    @property
    def event(self) -> str:
        """The name leadgate stores."""
        return PAGE_EVENT if self.kind == "page" else normalize_event_name(self.name)

    @property
    def properties_json(self) -> str | None:
        """The properties as the importer stores them."""
        return orjson.dumps(self.property_dict()).decode() if self.properties else None

    def property_dict(self) -> dict[str, Any]:
        """The properties as a message carries them."""
        return dict(self.properties)


GENERIC_PAGES = (
    ("/", 5.0),
    ("/blog/lead-scoring-101", 2.0),
    ("/blog/mql-vs-sql", 2.0),
    ("/blog/revops-playbook", 1.5),
    ("/blog/analytics-trends", 1.5),
    ("/about", 1.0),
    ("/customers", 1.0),
    ("/careers", 0.5),
    ("/docs/getting-started", 0.7),
    ("/product/analytics", 0.7),
    ("/pricing", 0.5),
)
INTENT_PAGES = (
    ("/pricing", 5.0),
    ("/pricing/teams", 2.0),
    ("/product/analytics", 3.0),
    ("/product/integrations", 2.0),
    ("/docs/api", 1.5),
    ("/docs/getting-started", 1.5),
    ("/customers", 1.5),
    ("/security", 1.0),
)
JOB_SEEKER_PAGES = (("/careers", 6.0), ("/careers/engineering", 2.0), ("/about", 2.0), ("/", 2.0))
PRICING_PAGES = (("/pricing", 3.0), ("/pricing/teams", 1.0))

WHITEPAPER_TOPICS = ("analytics", "lead-scoring", "data-quality", "revops")
WEBINAR_TOPICS = ("analytics-in-practice", "scoring-sales-trusts", "pql-playbook", "revops-metrics")
FEATURES = (("reports", 0.30), ("dashboards", 0.30), ("integrations", 0.15), ("api", 0.10), ("alerts", 0.15))
KEY_FEATURES = ("reports", "integrations", "api")
NEWSLETTER = (("campaign", "weekly-newsletter"),)


def _catalogue() -> tuple[Template, ...]:
    paths = dict.fromkeys(path for pages in (GENERIC_PAGES, INTENT_PAGES, JOB_SEEKER_PAGES) for path, _ in pages)
    pages = [Template("page", "", path, (("path", path),), True) for path in paths]
    tracks = [
        *(Template("track", "Whitepaper Downloaded", None, (("topic", topic),), True) for topic in WHITEPAPER_TOPICS),
        *(Template("track", "Webinar Registered", None, (("webinar", topic),), True) for topic in WEBINAR_TOPICS),
        *(Template("track", "webinar_attended", None, (("webinar", topic),), False) for topic in WEBINAR_TOPICS),
        Template("track", "Email Opened", None, NEWSLETTER, False),
        Template("track", "email_clicked", None, NEWSLETTER, False),
        Template("track", "email_unsubscribed", None, NEWSLETTER, False),
        Template("track", "Demo Requested", None, (), True),
        Template("track", "contact_sales_form", None, (), True),
        Template("track", "Trial Started", None, (("plan", "teams"),), True),
        Template("track", "session_started", None, (), False),
        *(Template("track", "Feature Used", None, (("feature", feature),), False) for feature, _ in FEATURES),
        Template("track", "Teammate Invited", None, (), False),
        Template("track", "plan_limit_reached", None, (("limit", "seats"),), False),
    ]
    return (*pages, *tracks)


TEMPLATES = _catalogue()
_INDEX = {(template.event, template.properties): number for number, template in enumerate(TEMPLATES)}


def template(event: str, **properties: str) -> int:
    """The number of the template of a stored event name and its properties."""
    return _INDEX[(event, tuple(properties.items()))]


def page_templates(pages: tuple[tuple[str, float], ...]) -> Ints:
    """The template numbers of a list of weighted pages."""
    return np.array([template(PAGE_EVENT, path=path) for path, _ in pages], dtype=np.int64)


def weights(entries: tuple[tuple[str, float], ...]) -> list[float]:
    """The weights of a list of weighted names."""
    return [weight for _, weight in entries]


WEB_TEMPLATES = np.array([entry.web for entry in TEMPLATES])
TEMPLATE_EVENTS = tuple(entry.event for entry in TEMPLATES)

CAMPAIGNS: tuple[Utm, ...] = tuple(source.utm for source in LEAD_SOURCES if source.utm is not None)
SOURCE_CAMPAIGN = np.array(
    [CAMPAIGNS.index(source.utm) if source.utm is not None else -1 for source in LEAD_SOURCES], dtype=np.int64
)
"""For each lead source, the number of its campaign in :data:`CAMPAIGNS` (-1: none)."""
