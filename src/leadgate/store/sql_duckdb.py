"""The DuckDB statements of an import commit and of an erasure.

They live in the adapter because they write (Ibis expresses queries, not upserts). Each
statement runs inside the commit transaction of :class:`~leadgate.store.duckdb_store.DuckDBStore`.
"""

from __future__ import annotations

# Users named anywhere in the staged batch or already known: an alias whose previous id is
# one of them merges two users; any other previous id is an anonymous visitor.
_KNOWN_USERS = """
    SELECT user_id AS id FROM stage_events WHERE user_id IS NOT NULL
    UNION SELECT entity_id FROM stage_traits WHERE entity_type = 'lead'
    UNION SELECT to_id FROM stage_identities WHERE kind = 'alias'
    UNION SELECT from_id FROM stage_identities WHERE kind IN ('account', 'lead')
    UNION SELECT id_value FROM person_keys WHERE id_kind = 'user'
"""

# An alias's previous id that names no known user is an anonymous visitor's. That part reads
# every known user id, so a batch without an alias (most of the server's) leaves it out.
ALIAS_VISITORS = f"""
    UNION SELECT 'anonymous', from_id FROM stage_identities
        WHERE kind = 'alias' AND from_id NOT IN ({_KNOWN_USERS})"""


# The named ids without a key yet, anti-joined with the stored ones (PostgreSQL looks them up
# one by one instead: sql_postgres.NEW_IDS_BY_INDEX).
NEW_IDS = """
    SELECT n.id_kind, n.id_value FROM named n
    WHERE NOT EXISTS (
        SELECT 1 FROM person_keys p WHERE p.id_kind = n.id_kind AND p.id_value = n.id_value
    )"""


def assign_person_keys(aliases: str, new_ids: str = NEW_IDS) -> str:
    """The statement giving a key to every id the staged facts name that has none yet
    (``aliases``: the part naming an alias's anonymous visitor, or nothing)."""
    return f"""
INSERT INTO person_keys (id_kind, id_value, lead_key, first_key)
WITH named AS (
    SELECT 'user' AS id_kind, user_id AS id_value FROM stage_events WHERE user_id IS NOT NULL
    UNION SELECT 'anonymous', anonymous_id FROM stage_events WHERE user_id IS NULL AND anonymous_id IS NOT NULL
    UNION SELECT 'user', entity_id FROM stage_traits WHERE entity_type = 'lead'
    UNION SELECT 'user', to_id FROM stage_identities WHERE kind = 'alias'
    UNION SELECT 'user', from_id FROM stage_identities WHERE kind IN ('account', 'lead'){aliases}
),
new_ids AS ({new_ids}
),
base AS (SELECT coalesce(max(first_key), 0) AS top FROM person_keys)
SELECT id_kind, id_value,
       base.top + row_number() OVER (ORDER BY id_kind DESC, id_value),
       base.top + row_number() OVER (ORDER BY id_kind DESC, id_value)
FROM new_ids, base
"""


# A key for every id the staged facts name that has none yet: one statement for a batch with
# aliases, one for a batch without.
ASSIGN_PERSON_KEYS = assign_person_keys(ALIAS_VISITORS)
ASSIGN_PERSON_KEYS_WITHOUT_ALIASES = assign_person_keys("")

# One move per key: the key of an alias's previous id goes to the key of its user id. An
# anonymous key that already belongs to a user is left alone (the first identification wins);
# a previous *user* id is an explicit merge. Moves whose target itself moves wait a round.
ALIAS_MOVES = """
CREATE OR REPLACE TEMP TABLE alias_moves AS
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
candidates AS (
    SELECT old_key, new_key FROM resolved r
    WHERE old_key <> new_key
      AND (from_user OR NOT EXISTS (
            SELECT 1 FROM person_keys p WHERE p.lead_key = r.old_key AND p.id_kind = 'user'))
    QUALIFY row_number() OVER (PARTITION BY old_key ORDER BY learnt_at, seq) = 1
)
SELECT old_key, new_key FROM candidates
WHERE new_key NOT IN (SELECT old_key FROM candidates)
"""

APPLY_ALIAS_MOVES = (
    "UPDATE person_keys SET lead_key = m.new_key FROM alias_moves m WHERE person_keys.lead_key = m.old_key",
    "UPDATE events SET lead_key = m.new_key FROM alias_moves m WHERE events.lead_key = m.old_key",
    "UPDATE traits SET entity_key = m.new_key FROM alias_moves m WHERE traits.entity_key = m.old_key",
    "UPDATE identities SET entity_key = m.new_key FROM alias_moves m WHERE identities.entity_key = m.old_key",
)


# The statements adding each fact table's staged rows, with the first copy of an id the batch
# holds twice. With ``look_up``, only the ids not stored yet go in: the stored ids are first
# narrowed to those of the batch (a semi join that hashes the small batch and scans the stored
# ids once; an anti join straight against the stored table would hash every stored id: 15 s and
# 5 GB at 50M events). That scan grows with the store (10 ms a commit at 1M events), and a
# commit whose ids are all new skips it (see DuckDBStore.remember_fact_ids).
def _insert_staged_facts(look_up: bool) -> tuple[str, ...]:
    def not_stored(table: str, column: str) -> str:
        if not look_up:
            return ""
        return f"""
    ANTI JOIN (SELECT f.{column} FROM {table} f SEMI JOIN stage_{table} n ON f.{column} = n.{column}) known
         ON known.{column} = s.{column}"""

    new_events, new_traits = not_stored("events", "message_id"), not_stored("traits", "fact_id")
    new_identities = not_stored("identities", "fact_id")
    return (
        f"""
    INSERT INTO events
    SELECT s.message_id, ?, coalesce(pu.lead_key, pa.lead_key), s.kind, s.event, s.user_id,
           s.anonymous_id, s.ts, s.received_at, s.path, s.utm_source, s.utm_medium,
           s.utm_campaign, s.properties
    FROM (SELECT * FROM stage_events QUALIFY row_number() OVER (PARTITION BY message_id ORDER BY line) = 1) s
    LEFT JOIN person_keys pu ON pu.id_kind = 'user' AND pu.id_value = s.user_id
    LEFT JOIN person_keys pa ON pa.id_kind = 'anonymous' AND pa.id_value = s.anonymous_id{new_events}
    """,
        f"""
    INSERT INTO traits
    SELECT s.fact_id, ?, s.entity_type, s.entity_id, p.lead_key, s.name, s.value, s.learnt_at, s.seq
    FROM (SELECT * FROM stage_traits QUALIFY row_number() OVER (PARTITION BY fact_id ORDER BY seq) = 1) s
    LEFT JOIN person_keys p ON s.entity_type = 'lead' AND p.id_kind = 'user' AND p.id_value = s.entity_id{new_traits}
    """,
        f"""
    INSERT INTO identities
    SELECT s.fact_id, ?, s.kind, s.from_id, s.to_id, p.lead_key, s.learnt_at, s.seq
    FROM (SELECT * FROM stage_identities QUALIFY row_number() OVER (PARTITION BY fact_id ORDER BY seq) = 1) s
    LEFT JOIN person_keys p ON p.id_kind = 'user'
         AND p.id_value = CASE WHEN s.kind IN ('account', 'lead') THEN s.from_id ELSE s.to_id END{new_identities}
    """,
    )


INSERT_STAGED_FACTS = _insert_staged_facts(look_up=True)
INSERT_NEW_STAGED_FACTS = _insert_staged_facts(look_up=False)

# Every fact id of the staged rows, hashed (DuckDB's hash, as KnownIds keeps them), and of the stored ones.
STAGED_FACT_ID_HASHES = """
    SELECT hash(message_id) AS id_hash FROM stage_events
    UNION ALL SELECT hash(fact_id) FROM stage_traits
    UNION ALL SELECT hash(fact_id) FROM stage_identities
"""
STORED_FACT_ID_HASHES = STAGED_FACT_ID_HASHES.replace("stage_", "")
# The same of the fact ids of a commit that skips staging (duckdb_direct.fact_ids, read as arrow_rows).
DIRECT_FACT_ID_HASHES = "SELECT hash(fact_id) AS id_hash FROM arrow_rows"

ERASE_PERSON = (
    "DELETE FROM traits WHERE entity_type = 'lead' AND entity_key = $lead_key",
    "DELETE FROM identities WHERE kind = 'alias' AND entity_key = $lead_key",
    """UPDATE identities SET from_id = NULL, to_id = CASE WHEN kind = 'lead' THEN NULL ELSE to_id END
       WHERE kind IN ('account', 'lead') AND entity_key = $lead_key""",
    """UPDATE events SET user_id = NULL, anonymous_id = NULL, properties = NULL, path = NULL,
              utm_source = NULL, utm_medium = NULL, utm_campaign = NULL
       WHERE lead_key = $lead_key""",
    # sales notes are free text about the person; another lead named as its duplicate forgets it
    "UPDATE decisions SET note = NULL, duplicate_of = NULL WHERE lead_key = $lead_key",
    # a prediction's top factors quote the person's traits
    "DELETE FROM lead_predictions WHERE lead_key = $lead_key",
    """UPDATE decisions SET duplicate_of = NULL WHERE duplicate_of IN
       (SELECT id_value FROM person_keys WHERE lead_key = $lead_key AND id_kind = 'user')""",
    """UPDATE transitions SET detail = replace(detail, 'duplicate of ' || p.id_value, 'duplicate of an erased lead')
       FROM person_keys AS p WHERE p.lead_key = $lead_key AND p.id_kind = 'user'
       AND ends_with(transitions.detail, 'duplicate of ' || p.id_value)""",
    # the outbox's notices name the lead (and a receiver's error may have echoed its id)
    """UPDATE outbox SET lead_id = 'erased-' || CAST(lead_key AS VARCHAR),
              last_error = CASE WHEN lead_id <> '' THEN replace(last_error, lead_id, 'erased-' || CAST(lead_key AS VARCHAR))
                                ELSE last_error END
       WHERE lead_key = $lead_key""",
    """UPDATE person_keys SET id_value = 'erased-' || CAST(first_key AS VARCHAR)
       WHERE lead_key = $lead_key""",
    "INSERT INTO erasures VALUES ($lead_key, $at)",
)

TOUCHED_LEAD_KEYS = """
CREATE OR REPLACE TEMP TABLE touched_keys AS
SELECT lead_key FROM events WHERE batch_id > $since AND lead_key IS NOT NULL
UNION SELECT entity_key FROM traits WHERE batch_id > $since AND entity_key IS NOT NULL
UNION SELECT entity_key FROM identities WHERE batch_id > $since AND entity_key IS NOT NULL
UNION SELECT lead_key FROM transitions WHERE reset_engagement AND seq > $since_seq
"""
