"""The PostgreSQL statements of an import commit, and what PostgreSQL needs besides the tables.

The same work as :mod:`leadgate.store.sql_duckdb`, in PostgreSQL's words: DuckDB's
``QUALIFY`` becomes a ranked subquery (``DISTINCT ON`` for the first copy of a fact), its
``ANTI JOIN`` a ``NOT EXISTS`` on an indexed id, ``CREATE OR REPLACE TEMP TABLE`` a drop and a
create. The statements that both engines say alike are taken from the DuckDB module, so
they are written once. Parameters are marked ``?`` and ``$name`` as everywhere in the store.
"""

from __future__ import annotations

from leadgate.store.sql_duckdb import ALIAS_VISITORS, APPLY_ALIAS_MOVES, ERASE_PERSON, assign_person_keys

__all__ = [
    "ALIAS_MOVES",
    "APPLY_ALIAS_MOVES",
    "ASSIGN_PERSON_KEYS",
    "ASSIGN_PERSON_KEYS_WITHOUT_ALIASES",
    "ERASE_PERSON",
    "HELPERS",
    "INDEXES",
    "INSERT_STAGED_FACTS",
    "TOUCHED_LEAD_KEYS",
]

# The named ids without a key yet, each looked up in the unique index of person_keys: an
# anti join hashed every stored id instead (11 ms of a 1,400-message commit at 48,000 people,
# and growing with them; 5 ms this way, and flat).
NEW_IDS_BY_INDEX = """
    SELECT n.id_kind, n.id_value FROM named n
    LEFT JOIN LATERAL (
        SELECT 1 AS known FROM person_keys p WHERE p.id_kind = n.id_kind AND p.id_value = n.id_value LIMIT 1
    ) k ON true
    WHERE k.known IS NULL"""
ASSIGN_PERSON_KEYS = assign_person_keys(ALIAS_VISITORS, NEW_IDS_BY_INDEX)
ASSIGN_PERSON_KEYS_WITHOUT_ALIASES = assign_person_keys("", NEW_IDS_BY_INDEX)

ALIAS_MOVES = (
    "DROP TABLE IF EXISTS alias_moves",
    """
CREATE TEMP TABLE alias_moves AS
WITH links AS (
    SELECT s.from_id, s.to_id, s.learnt_at, s.seq FROM stage_identities s
    WHERE s.kind = 'alias'
      AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.fact_id = s.fact_id)
),
resolved AS (
    SELECT coalesce(fu.lead_key, fa.lead_key) AS old_key,
           fu.lead_key IS NOT NULL AS from_user,
           t.lead_key AS new_key, l.learnt_at, l.seq
    FROM links l
    LEFT JOIN person_keys fu ON fu.id_kind = 'user' AND fu.id_value = l.from_id
    LEFT JOIN person_keys fa ON fa.id_kind = 'anonymous' AND fa.id_value = l.from_id
    JOIN person_keys t ON t.id_kind = 'user' AND t.id_value = l.to_id
),
ranked AS (
    SELECT old_key, new_key, row_number() OVER (PARTITION BY old_key ORDER BY learnt_at, seq) AS rank
    FROM resolved r
    WHERE old_key <> new_key
      AND (from_user OR NOT EXISTS (
            SELECT 1 FROM person_keys p WHERE p.lead_key = r.old_key AND p.id_kind = 'user'))
),
candidates AS (SELECT old_key, new_key FROM ranked WHERE rank = 1)
SELECT old_key, new_key FROM candidates
WHERE new_key NOT IN (SELECT old_key FROM candidates)
""",
)

INSERT_STAGED_FACTS = (
    """
    INSERT INTO events
    SELECT s.message_id, ?, coalesce(pu.lead_key, pa.lead_key), s.kind, s.event, s.user_id,
           s.anonymous_id, s.ts, s.received_at, s.path, s.utm_source, s.utm_medium,
           s.utm_campaign, s.properties
    FROM (SELECT DISTINCT ON (message_id) * FROM stage_events ORDER BY message_id, line) s
    LEFT JOIN person_keys pu ON pu.id_kind = 'user' AND pu.id_value = s.user_id
    LEFT JOIN person_keys pa ON pa.id_kind = 'anonymous' AND pa.id_value = s.anonymous_id
    WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = s.message_id)
    """,
    """
    INSERT INTO traits
    SELECT s.fact_id, ?, s.entity_type, s.entity_id, p.lead_key, s.name, s.value, s.learnt_at, s.seq
    FROM (SELECT DISTINCT ON (fact_id) * FROM stage_traits ORDER BY fact_id, seq) s
    LEFT JOIN person_keys p ON s.entity_type = 'lead' AND p.id_kind = 'user' AND p.id_value = s.entity_id
    WHERE NOT EXISTS (SELECT 1 FROM traits t WHERE t.fact_id = s.fact_id)
    """,
    """
    INSERT INTO identities
    SELECT s.fact_id, ?, s.kind, s.from_id, s.to_id, p.lead_key, s.learnt_at, s.seq
    FROM (SELECT DISTINCT ON (fact_id) * FROM stage_identities ORDER BY fact_id, seq) s
    LEFT JOIN person_keys p ON p.id_kind = 'user'
         AND p.id_value = CASE WHEN s.kind IN ('account', 'lead') THEN s.from_id ELSE s.to_id END
    WHERE NOT EXISTS (SELECT 1 FROM identities i WHERE i.fact_id = s.fact_id)
    """,
)

TOUCHED_LEAD_KEYS = (
    "DROP TABLE IF EXISTS touched_keys",
    """
CREATE TEMP TABLE touched_keys AS
SELECT lead_key FROM events WHERE batch_id > $since AND lead_key IS NOT NULL
UNION SELECT entity_key FROM traits WHERE batch_id > $since AND entity_key IS NOT NULL
UNION SELECT entity_key FROM identities WHERE batch_id > $since AND entity_key IS NOT NULL
UNION SELECT lead_key FROM transitions WHERE reset_engagement AND seq > $since_seq
""",
    "ANALYZE touched_keys",  # autovacuum never analyzes a temporary table
)

# Unique ids keep facts idempotent even when two processes commit at once; the others make
# the look-ups by id and by lead key that every commit and every decision does use an index.
INDEXES: dict[str, str] = {
    "events_message_id": "events (message_id)",
    "traits_fact_id": "traits (fact_id)",
    "identities_fact_id": "identities (fact_id)",
    "person_keys_id": "person_keys (id_kind, id_value)",
    "lead_state_lead_key": "lead_state (lead_key)",
}
LOOKUP_INDEXES: dict[str, str] = {
    "events_lead_key": "events (lead_key)",
    "traits_entity_key": "traits (entity_key)",
    "person_keys_lead_key": "person_keys (lead_key)",
    # a commit's next person key and next batch id: the largest by the index, not a read of
    # every person and every batch (6 ms of a commit at 48,000 people, and growing with them)
    "person_keys_first_key": "person_keys (first_key)",
    "imports_batch_id": "imports (batch_id)",
    "transitions_lead_key": "transitions (lead_key)",
    # the facts of the batches after a cycle's last: what it rescores (an increasing id, so a
    # cycle reads its new facts, not the whole history)
    "events_batch_id": "events (batch_id)",
    "traits_batch_id": "traits (batch_id)",
    "identities_batch_id": "identities (batch_id)",
    "assignments_lead_key": "assignments (lead_key)",
    "decisions_lead_key": "decisions (lead_key)",
    "outbox_notification_id": "outbox (notification_id)",  # a notice queued twice is found, not added again
    "outbox_status_delivered_at": "outbox (status, delivered_at)",  # the pruning of delivered notices
}

# DuckDB functions the shared statements use that PostgreSQL 15 lacks.
HELPERS: dict[str, str] = {
    "ends_with": """CREATE OR REPLACE FUNCTION ends_with(text, text) RETURNS boolean
        LANGUAGE sql IMMUTABLE AS $$ SELECT right($1, length($2)) = $2 $$""",
}
