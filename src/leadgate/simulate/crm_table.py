"""A CRM-style lead table from a simulated history (``leadgate simulate --crm-table FILE``).

One row per lead, as a CRM export looks: firmographics and profile fields, engagement counts,
the mess such exports carry (``Select`` and ``N/A`` placeholders, empty cells, rare
categories, a free-text notes column), one column sales fills in *after* the outcome
(``close_reason``, empty until the opportunity is won or lost) and the target ``converted``
(``Yes`` when the lead became a customer before the end of the window).

Engagement counts cover the lead's first ``ENGAGEMENT_DAYS`` days after it identified itself:
lifetime counts would include a customer's product usage after the sale, a second leak. The
same (leads, days, seed, end) give the same table, and the same history as ``simulate``.
The table's own noise (placeholders, notes, rare sources) draws from a random stream that
the history does not use, so it leaves the history alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from leadgate.simulate.arrays import Bools, Ints, Texts
from leadgate.simulate.behaviour import event_blocks
from leadgate.simulate.clock import DAY
from leadgate.simulate.history import History, build_history
from leadgate.simulate.profiles import account_profiles, lead_profiles
from leadgate.simulate.templates import TEMPLATE_EVENTS
from leadgate.simulate.truth import ground_truth

TABLE_STREAM = 90
"""The table's random stream, beside the history's (``history.Stream`` numbers stay below it)."""
ENGAGEMENT_DAYS = 14
COUNTED_EVENTS = {
    "web_visits": "page_view",
    "emails_clicked": "email_clicked",
    "webinars_attended": "webinar_attended",
    "whitepapers_downloaded": "whitepaper_downloaded",
    "demo_requests": "demo_requested",
    "trials_started": "trial_started",
}
RARE_SOURCES = ("Trade show 2019", "Cold call list", "Podcast", "Referral - old CRM", "Radio", "Print ad")
RARE_SOURCE_SHARE = 0.01
NOTE_PHRASES = (
    "left a voicemail",
    "asked about pricing for the team plan",
    "wants a call after the summer",
    "met at the booth, seemed keen",
    "forwarded to a colleague in IT",
    "evaluating two other vendors",
    "no answer to the follow-up e-mail",
    "interested in the API",
    "budget review next quarter",
    "requested a case study",
)
NOTES_EMPTY_SHARE = 0.35
WON_REASONS = ("Signed - annual plan", "Signed - monthly plan", "Closed won")
LOST_REASONS = ("Lost - no budget", "Lost - went with competitor", "Lost - bad timing", "Lost - no decision maker")


@dataclass(frozen=True)
class CrmTableSummary:
    """What ``--crm-table`` wrote."""

    path: str
    rows: int
    converted: int
    target: str = "converted"
    leaky_column: str = "close_reason"


def write_simulated_crm_table(path: Path, leads: int, days: int, seed: int, end: dt.datetime) -> CrmTableSummary:
    """Simulate the history of (leads, days, seed, end) and write its lead table (CSV, or Parquet by suffix)."""
    table = crm_table(build_history(leads, days, seed, end))
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".parquet", ".pq"):
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)
    return CrmTableSummary(str(path), len(table), int((table["converted"] == "Yes").sum()))


def crm_table(history: History) -> pd.DataFrame:
    """The lead table of a history, one row per lead (see the module docstring)."""
    rng = np.random.default_rng([history.seed, TABLE_STREAM])
    count = history.lead_count
    everyone = np.arange(count)
    profile = lead_profiles(history, everyone)
    account = history.world.leads.account
    firm = {name: values[account] for name, values in account_profiles(history).items()}
    truth = ground_truth(history)
    created = history.arrivals.identified_at.astype("datetime64[s]").astype("datetime64[D]").astype(str)
    columns: dict[str, object] = {
        "lead_id": truth.lead_ids,
        "email": profile["email"],
        "company": firm["name"],
        "created_date": created,
        "job_title": _blank(rng, profile["role"], 0.05, "Select"),
        "department": _blank(rng, profile["department"], 0.08, ""),
        "industry": _blank(rng, firm["industry"], 0.04, "N/A"),
        "country": firm["country"],
        "employees": _blank(rng, firm["employees"], 0.03, "N/A"),
        "annual_revenue": _blank(rng, _thousands(firm["revenue"]), 0.05, "-"),
        "budget_estimate": _blank(rng, _filled(profile["budget_estimate"], "NA"), 0.03, "-"),
        "need_maturity": _filled(profile["need_maturity"], "Select"),
        "lead_source": _rare_sources(rng, profile["source"]),
        "uses_competitor": _blank(rng, _yes_no(firm["uses_competitor"] == "true"), 0.15, "none"),
        "account_owner": _filled(firm["owner"], ""),
        **_engagement(history),
        "notes": _notes(rng, count),
        "close_reason": _close_reason(rng, truth.outcome),
        "converted": _yes_no(truth.converted),
    }
    return pd.DataFrame(columns)


def _engagement(history: History) -> dict[str, Ints]:
    """Events of each kind in the lead's first ENGAGEMENT_DAYS days after it identified itself."""
    event_names = np.array(TEMPLATE_EVENTS, dtype=object)
    counts = {column: np.zeros(history.lead_count, dtype=np.int64) for column in COUNTED_EVENTS}
    identified_at = history.arrivals.identified_at
    for block in event_blocks(history):
        if not len(block.leads):
            break  # the visitors' blocks come after every lead's
        events = block.events
        person = events.person
        is_lead = person < history.lead_count
        lead = np.where(is_lead, person, 0)
        early = is_lead & (events.moment < identified_at[lead] + ENGAGEMENT_DAYS * DAY)
        names = event_names[events.template]
        for column, name in COUNTED_EVENTS.items():
            hits = early & (names == name)
            counts[column] += np.bincount(lead[hits], minlength=history.lead_count)
    return {f"{column}_first_{ENGAGEMENT_DAYS}d": values for column, values in counts.items()}


def _blank(rng: np.random.Generator, values: Texts, share: float, placeholder: str) -> Texts:
    """Some cells replaced by a placeholder, as careless forms and imports leave them."""
    out = np.asarray(values, dtype=object).copy()
    out[rng.random(out.size) < share] = placeholder
    return out


def _filled(values: Texts, placeholder: str) -> Texts:
    out = np.asarray(values, dtype=object).copy()
    out[pd.isna(out)] = placeholder
    return out


def _thousands(values: Texts) -> Texts:
    return np.array([f"{int(value):,}" for value in values], dtype=object)


def _yes_no(flags: Bools) -> Texts:
    return np.where(flags, "Yes", "No").astype(object)


def _rare_sources(rng: np.random.Generator, sources: Texts) -> Texts:
    out = np.asarray(sources, dtype=object).copy()
    rare = rng.random(out.size) < RARE_SOURCE_SHARE
    out[rare] = np.array(RARE_SOURCES, dtype=object)[rng.integers(0, len(RARE_SOURCES), int(rare.sum()))]
    return out


def _notes(rng: np.random.Generator, count: int) -> Texts:
    """Free text that says little: two phrases and a date, or nothing."""
    first, second = rng.integers(0, len(NOTE_PHRASES), (2, count))
    day = rng.integers(1, 29, count)
    month = rng.integers(1, 13, count)
    notes = np.array(
        [
            f"{NOTE_PHRASES[a].capitalize()}; {NOTE_PHRASES[b]} (call {d}/{m})"
            for a, b, d, m in zip(first, second, day, month, strict=True)
        ],
        dtype=object,
    )
    notes[rng.random(count) < NOTES_EMPTY_SHARE] = ""
    return notes


def _close_reason(rng: np.random.Generator, outcome: Texts) -> Texts:
    """Sales' reason for the outcome: written when the deal is won or lost, empty before."""
    reasons = np.full(outcome.size, "", dtype=object)
    won, lost = outcome == "won", outcome == "lost"
    reasons[won] = np.array(WON_REASONS, dtype=object)[rng.integers(0, len(WON_REASONS), int(won.sum()))]
    reasons[lost] = np.array(LOST_REASONS, dtype=object)[rng.integers(0, len(LOST_REASONS), int(lost.sum()))]
    return reasons
