"""Event names as leadgate stores and matches them."""

from __future__ import annotations

import functools
import re

PAGE_EVENT = "page_view"
SCREEN_EVENT = "screen_view"

_SEPARATORS = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=1024)
def normalize_event_name(name: str) -> str:
    """``Demo Requested`` and ``demo-requested`` both become ``demo_requested``.

    Segment recommends "Object Action" names in title case; playbooks use snake case. One
    normal form on both sides means a rule matches however a tracker spelled the event.
    """
    return _SEPARATORS.sub("_", name.strip().lower()).strip("_")
