"""The yardstick: bench/playbook.yaml written by hand as one DuckDB query.

This is what an expert would write without leadgate, for this one playbook: the latest traits
with ordered ``first`` (faster than ``arg_max`` over a tuple on DuckDB), one pass over the events with ``FILTER`` aggregates (the decay factor of
each half-life computed once per event), and a second, narrow pass for the pricing visits
counted once per Paris day. It computes the same columns as leadgate's ``lead_scores`` (fit,
engagement, score, qualifies_as and the contribution of every rule), so that both sides pay the
same output cost and :func:`compare_with_leadgate` can check every number.
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
from compare import Comparison, compare_tables

HAND_TABLE = "bench_hand"

FIT_COLUMNS = [f"c_fit_{index}" for index in range(1, 11)]
ENGAGEMENT_COLUMNS = [f"c_engagement_{index}" for index in range(1, 13)]
COMPARED_COLUMNS = ["fit", "engagement", "score", *FIT_COLUMNS, *ENGAGEMENT_COLUMNS, "c_engagement_cap"]

_QUERY = """
CREATE OR REPLACE TABLE bench_hand AS
WITH leads AS (
    SELECT lead_key, id_value AS lead_id FROM person_keys WHERE id_kind = 'user' AND first_key = lead_key
),
membership AS (
    SELECT entity_key AS lead_key, first(to_id ORDER BY learnt_at DESC, batch_id DESC, seq DESC) AS account_id
    FROM identities
    WHERE kind = 'account' AND learnt_at <= {as_of} AND entity_key IS NOT NULL
    GROUP BY entity_key
),
lead_traits AS (
    SELECT entity_key AS lead_key,
           first(value ORDER BY learnt_at DESC, batch_id DESC, seq DESC) FILTER (WHERE name = 'role') AS role,
           first(value ORDER BY learnt_at DESC, batch_id DESC, seq DESC) FILTER (WHERE name = 'email_domain') AS email_domain,
           first(value ORDER BY learnt_at DESC, batch_id DESC, seq DESC) FILTER (WHERE name = 'budget_estimate') AS budget_estimate,
           first(value ORDER BY learnt_at DESC, batch_id DESC, seq DESC) FILTER (WHERE name = 'need_maturity') AS need_maturity,
           first(value ORDER BY learnt_at DESC, batch_id DESC, seq DESC) FILTER (WHERE name = 'country') AS country
    FROM traits
    WHERE entity_type = 'lead' AND learnt_at <= {as_of}
      AND name IN ('role', 'email_domain', 'budget_estimate', 'need_maturity', 'country')
    GROUP BY entity_key
),
account_traits AS (
    SELECT entity_id AS account_id,
           first(value ORDER BY learnt_at DESC, batch_id DESC, seq DESC) FILTER (WHERE name = 'name') AS name,
           first(value ORDER BY learnt_at DESC, batch_id DESC, seq DESC) FILTER (WHERE name = 'employees') AS employees,
           first(value ORDER BY learnt_at DESC, batch_id DESC, seq DESC) FILTER (WHERE name = 'industry') AS industry,
           first(value ORDER BY learnt_at DESC, batch_id DESC, seq DESC) FILTER (WHERE name = 'country') AS country
    FROM traits
    WHERE entity_type = 'account' AND learnt_at <= {as_of} AND name IN ('name', 'employees', 'industry', 'country')
    GROUP BY entity_id
),
recent_events AS (
    SELECT lead_key, event, path, properties, epoch(ts) AS epoch,
           exp(({as_of_epoch} - epoch(ts)) * {decay_30}) AS faded_30,
           exp(({as_of_epoch} - epoch(ts)) * {decay_60}) AS faded_60
    FROM events
    WHERE ts <= {as_of}
      AND event IN ('page_view', 'whitepaper_downloaded', 'webinar_registered', 'webinar_attended',
                    'email_clicked', 'demo_requested', 'trial_started', 'email_unsubscribed')
),
activity AS (
    SELECT lead_key,
           sum(faded_30) FILTER (WHERE event = 'page_view') AS page_views,
           sum(faded_30) FILTER (WHERE event = 'whitepaper_downloaded') AS whitepapers,
           sum(faded_30) FILTER (WHERE event = 'whitepaper_downloaded'
                                   AND lower(properties ->> '$.topic') = 'analytics') AS analytics_whitepapers,
           sum(faded_30) FILTER (WHERE event = 'webinar_registered') AS webinar_registrations,
           sum(faded_60) FILTER (WHERE event = 'webinar_attended') AS webinars_attended,
           sum(faded_30) FILTER (WHERE event = 'email_clicked') AS email_clicks,
           count(*) FILTER (WHERE event = 'demo_requested') AS demo_requests,
           min(epoch) FILTER (WHERE event = 'trial_started') AS first_trial,
           count(*) FILTER (WHERE event = 'email_unsubscribed') AS unsubscribes,
           sum(faded_30) FILTER (WHERE event = 'page_view' AND starts_with(lower(path), '/careers')) AS careers_views,
           count(*) FILTER (WHERE event = 'page_view' AND starts_with(lower(path), '/pricing')
                              AND epoch > {as_of_epoch} - 7 * 86400) AS pricing_views_7_days
    FROM recent_events
    GROUP BY lead_key
),
pricing_days AS (
    SELECT lead_key, timezone('{timezone}', timezone('UTC', ts))::DATE AS day, max(epoch(ts)) AS last_visit
    FROM events
    WHERE ts <= {as_of} AND event = 'page_view' AND starts_with(lower(path), '/pricing')
    GROUP BY ALL
),
pricing AS (
    SELECT lead_key, sum(exp(({as_of_epoch} - last_visit) * {decay_30})) AS faded_days
    FROM pricing_days
    GROUP BY lead_key
),
profile AS (
    SELECT l.lead_key, l.lead_id, m.account_id, a.name AS account_name,
           lower(t.role) AS role, lower(t.email_domain) AS email_domain,
           try_cast(t.budget_estimate AS DOUBLE) AS budget_estimate, lower(t.need_maturity) AS need_maturity,
           lower(t.country) AS country, try_cast(a.employees AS DOUBLE) AS employees,
           lower(a.industry) AS industry, lower(a.country) AS account_country,
           e.* EXCLUDE (lead_key), p.faded_days
    FROM leads l
    LEFT JOIN membership m USING (lead_key)
    LEFT JOIN lead_traits t USING (lead_key)
    LEFT JOIN account_traits a ON a.account_id = m.account_id
    LEFT JOIN activity e USING (lead_key)
    LEFT JOIN pricing p USING (lead_key)
),
contributions AS (
    SELECT lead_key, lead_id, account_id, account_name,
           CASE WHEN employees >= 200 THEN 20 ELSE 0 END AS c_fit_1,
           CASE WHEN employees BETWEEN 50 AND 199 THEN 10 ELSE 0 END AS c_fit_2,
           CASE WHEN role IN ('ceo', 'cto', 'cfo', 'vp', 'director', 'head') THEN 15 ELSE 0 END AS c_fit_3,
           CASE WHEN role IN ('student', 'intern') THEN -25 ELSE 0 END AS c_fit_4,
           CASE WHEN industry IN ('software', 'fintech', 'insurance') THEN 10 ELSE 0 END AS c_fit_5,
           CASE WHEN budget_estimate >= 10000 THEN 15 ELSE 0 END AS c_fit_6,
           CASE WHEN need_maturity = 'project_planned' THEN 15 ELSE 0 END AS c_fit_7,
           CASE WHEN email_domain IN ('gmail.com', 'yahoo.com', 'hotmail.com', 'outlook.com', 'orange.fr', 'free.fr')
                THEN -10 ELSE 0 END AS c_fit_8,
           CASE WHEN account_country NOT IN ('fr', 'be', 'ch', 'de', 'uk', 'us') THEN -15 ELSE 0 END AS c_fit_9,
           CASE WHEN country IN ('fr', 'be', 'ch', 'de', 'uk', 'us') THEN 5 ELSE 0 END AS c_fit_10,
           10 * coalesce(faded_days, 0) AS c_engagement_1,
           least(coalesce(page_views, 0), 15) AS c_engagement_2,
           8 * coalesce(whitepapers, 0) AS c_engagement_3,
           4 * coalesce(analytics_whitepapers, 0) AS c_engagement_4,
           5 * coalesce(webinar_registrations, 0) AS c_engagement_5,
           15 * coalesce(webinars_attended, 0) AS c_engagement_6,
           least(3 * coalesce(email_clicks, 0), 12) AS c_engagement_7,
           40 * coalesce(demo_requests, 0) AS c_engagement_8,
           coalesce(10 * exp(({as_of_epoch} - first_trial) * {decay_30}), 0) AS c_engagement_9,
           -30 * coalesce(unsubscribes, 0) AS c_engagement_10,
           greatest(-5 * coalesce(careers_views, 0), -20) AS c_engagement_11,
           CASE WHEN pricing_views_7_days >= 3 THEN 15 ELSE 0 END AS c_engagement_12
    FROM profile
),
totals AS (
    SELECT *,
           c_fit_1 + c_fit_2 + c_fit_3 + c_fit_4 + c_fit_5 + c_fit_6 + c_fit_7 + c_fit_8 + c_fit_9 + c_fit_10 AS fit,
           c_engagement_1 + c_engagement_2 + c_engagement_3 + c_engagement_4 + c_engagement_5 + c_engagement_6
           + c_engagement_7 + c_engagement_8 + c_engagement_9 + c_engagement_10 + c_engagement_11
           + c_engagement_12 AS raw_engagement
    FROM contributions
)
SELECT lead_key, lead_id, account_id, account_name AS account__name, fit,
       least(raw_engagement, 150) AS engagement, fit + least(raw_engagement, 150) AS score,
       fit >= 30 AND least(raw_engagement, 150) >= 40 AS q_mql,
       CASE WHEN fit >= 30 AND least(raw_engagement, 150) >= 40 THEN 'mql' ELSE 'inquiry' END AS qualifies_as,
       {fit_columns}, {engagement_columns}, least(150 - raw_engagement, 0) AS c_engagement_cap,
       {as_of} AS as_of, 1 AS playbook_version
FROM totals
"""


def hand_query(as_of: dt.datetime, timezone: str = "Europe/Paris") -> str:
    """The hand-written scoring of the benchmark playbook as of ``as_of`` (naive UTC)."""
    return _QUERY.format(
        as_of=f"TIMESTAMP '{as_of.isoformat(sep=' ')}'",
        as_of_epoch=int(as_of.replace(tzinfo=dt.UTC).timestamp()),
        decay_30=_decay_rate(30),
        decay_60=_decay_rate(60),
        timezone=timezone,
        fit_columns=", ".join(FIT_COLUMNS),
        engagement_columns=", ".join(ENGAGEMENT_COLUMNS),
    )


def _decay_rate(half_life_days: float) -> str:
    """The exponent per second of age: ``2^(-age / half-life) = exp(age * rate)``."""
    return repr(-math.log(2) / (half_life_days * 86_400))


def compare_with_leadgate(con: duckdb.DuckDBPyConnection, scores_table: str = "lead_scores") -> Comparison:
    """Every compared number and the qualifying stage, lead by lead, against leadgate's scores."""
    return compare_tables(con, scores_table, HAND_TABLE, COMPARED_COLUMNS, ["qualifies_as", "lead_id", "account_id"])
