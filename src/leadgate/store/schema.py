"""The tables of a leadgate store, declared once for every backend.

Facts (append-only, each row with a unique id):

- ``events``: what people did. ``message_id`` is the Segment messageId (or the id column of
  a flat file); a second copy of a message is ignored.
- ``traits``: profile attributes of leads and accounts, with ``learnt_at``.
- ``identities``: links between ids: an anonymous id or an old user id *aliased* to a user
  id, and a lead's *account* membership.
- ``erasures``: personal-data erasure requests that were carried out (no personal data).

Derived (recomputable from the facts):

- ``person_keys``: every user id and anonymous id, with the integer ``lead_key`` of the
  person it resolves to. ``events.lead_key``, ``traits.entity_key`` and
  ``identities.entity_key`` cache that resolution so that scoring never joins on text ids;
  they are re-keyed when a later alias merges two keys, and nothing else is ever updated.
- ``lead_scores``: the latest scores, one row per lead, with one column per rule.

Bookkeeping: ``imports`` (one row per import batch), ``scoring_runs``, ``meta``.

Service: ``api_keys`` (the HTTP service's keys, hashed), ``users`` and ``web_sessions`` (the web
app's sign-ins, hashed), ``playbook_versions`` (published playbooks), ``outbox`` (notifications to
send, sent or dead).
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 3

Columns = dict[str, str]

ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "timestamp": pa.timestamp("us"),
    "bool": pa.bool_(),
    "date": pa.date32(),
}

FACT_TABLES: dict[str, Columns] = {
    "events": {
        "message_id": "text",
        "batch_id": "int64",
        "lead_key": "int64",
        "kind": "text",  # track, page, screen
        "event": "text",
        "user_id": "text",
        "anonymous_id": "text",
        "ts": "timestamp",
        "received_at": "timestamp",
        "path": "text",
        "utm_source": "text",
        "utm_medium": "text",
        "utm_campaign": "text",
        "properties": "text",
    },
    "traits": {
        "fact_id": "text",
        "batch_id": "int64",
        "entity_type": "text",  # lead or account
        "entity_id": "text",
        "entity_key": "int64",  # the lead_key for lead traits; null for accounts
        "name": "text",
        "value": "text",
        "learnt_at": "timestamp",
        "seq": "int64",  # order within the batch: the later line wins a tie on learnt_at
    },
    "identities": {
        "fact_id": "text",
        "batch_id": "int64",
        "kind": "text",  # alias, account (membership), or lead (a lead file named this lead)
        "from_id": "text",
        "to_id": "text",
        "entity_key": "int64",
        "learnt_at": "timestamp",
        "seq": "int64",
    },
    "erasures": {
        "lead_key": "int64",
        "erased_at": "timestamp",
    },
}

# The hand-off's facts (see leadgate.lifecycle.facts). ``seq`` orders them across tables;
# ``fact_id`` is the table's letter and the seq.
LIFECYCLE_TABLES: dict[str, Columns] = {
    "transitions": {
        "fact_id": "text",
        "seq": "int64",
        "lead_key": "int64",
        "source": "text",
        "target": "text",
        "cause": "text",
        "detail": "text",
        "actor": "text",
        "at": "timestamp",
        "playbook_version": "int64",
        "score": "float64",
        "fit": "float64",
        "engagement": "float64",
        "contributions": "text",
        "cool_off_until": "timestamp",
        "reset_engagement": "bool",
    },
    "assignments": {
        "fact_id": "text",
        "seq": "int64",
        "lead_key": "int64",
        "owner": "text",
        "team": "text",
        "queue": "text",
        "rule": "text",
        "method": "text",
        "reason": "text",
        "at": "timestamp",
        "due_at": "timestamp",
        "cause": "text",
    },
    "decisions": {
        "fact_id": "text",
        "seq": "int64",
        "lead_key": "int64",
        "kind": "text",
        "actor": "text",
        "at": "timestamp",
        "reason": "text",
        "note": "text",
        "checklist": "text",
        "duplicate_of": "text",
        "source": "text",
    },
    "sla_breaches": {
        "fact_id": "text",
        "seq": "int64",
        "lead_key": "int64",
        "owner": "text",
        "due_at": "timestamp",
        "at": "timestamp",
        "action": "text",
    },
    "absences": {
        "fact_id": "text",
        "rep": "text",
        "start_date": "date",
        "end_date": "date",
        "recorded_at": "timestamp",
        "cancelled": "bool",  # a later fact that cancels the absence with the same rep and dates
    },
}

LEAD_STATE_TABLE = "lead_state"  # each lead's current lifecycle state: the fold of its hand-off facts

DERIVED_TABLES: dict[str, Columns] = {
    "person_keys": {
        "id_kind": "text",  # user or anonymous
        "id_value": "text",
        "lead_key": "int64",
        "first_key": "int64",  # the key this id was given first; the lead's id is the user id whose first_key is its key
    },
    # Each lead's current hand-off state: the fold of its lifecycle facts (leads never moved have no row).
    "lead_state": {
        "lead_key": "int64",
        "stage": "text",
        "since": "timestamp",
        "version": "int64",
        "episode": "int64",
        "owner": "text",
        "team": "text",
        "queue": "text",
        "assigned_at": "timestamp",
        "due_at": "timestamp",
        "breaches": "int64",
        "cool_off_until": "timestamp",
        "engagement_since": "timestamp",
    },
}

BOOKKEEPING_TABLES: dict[str, Columns] = {
    "meta": {"key": "text", "value": "text"},
    "imports": {
        "batch_id": "int64",
        "kind": "text",
        "source": "text",
        "started_at": "timestamp",
        "finished_at": "timestamp",
        "rows_read": "int64",
        "rows_added": "int64",
    },
    "scoring_runs": {
        "run_id": "int64",
        "kind": "text",  # full or incremental
        "as_of": "timestamp",
        "playbook_name": "text",
        "playbook_version": "int64",
        "playbook_digest": "text",
        "max_batch_id": "int64",
        "leads_scored": "int64",
        "seconds": "float64",
        "finished_at": "timestamp",
        "max_lifecycle_seq": "int64",  # the last lifecycle fact the run took into account
    },
}

# What the predictive model keeps (leadgate.predict.model_store): models and the latest predictions.
MODEL_TABLES: dict[str, Columns] = {
    "models": {
        "version": "int64",
        "trained_at": "timestamp",
        "as_of": "timestamp",  # the labels are what was known then
        "playbook_version": "int64",
        "converts_at": "text",
        "window_start": "timestamp",  # the first and last qualification moment of the episodes used
        "window_end": "timestamp",
        "validation_from": "timestamp",  # episodes from here on were the validation part
        "n_train": "int64",
        "n_validation": "int64",
        "features": "text",  # JSON list
        "metrics": "text",  # JSON: the model's Metrics on the validation part
        "baseline_metrics": "text",  # JSON: the logistic baseline's
        "model": "text",  # base64 of the pickled FittedModel
    },
    "lead_predictions": {
        "lead_key": "int64",
        "model_version": "int64",
        "p_convert": "float64",
        "as_of": "timestamp",
        "top_factors": "text",  # JSON: [{feature, value, log_odds}], the largest first
    },
}

# What the HTTP service keeps: API keys (only a hash of each secret).
SERVICE_TABLES: dict[str, Columns] = {
    "api_keys": {
        "key_id": "text",
        "key_hash": "text",  # SHA-256 of the whole key: the key itself is shown once and never stored
        "role": "text",
        "user_name": "text",
        "team": "text",
        "created_at": "timestamp",
        "revoked_at": "timestamp",
    },
    # The web app's users (store/users_store.py): an argon2 hash of each password, never the password.
    "users": {
        "user_name": "text",
        "password_hash": "text",
        "role": "text",
        "team": "text",  # a sales or manager user limited to one of the rep's teams
        "created_at": "timestamp",
        "disabled_at": "timestamp",
    },
    # The web app's sign-ins: the SHA-256 of the session cookie, and the session's CSRF token.
    "web_sessions": {
        "session_hash": "text",
        "user_name": "text",
        "csrf_token": "text",
        "created_at": "timestamp",
        "expires_at": "timestamp",
        "ended_at": "timestamp",
    },
    # The notify rules' webhooks and e-mails (store/outbox_store.py): one row per notice, with its delivery.
    "outbox": {
        "notification_id": "text",  # the fact's id and the rule's number: t12-1
        "seq": "int64",  # the fact's seq: a lead's notices to one destination go out in this order
        "rule": "int64",
        "lead_key": "int64",
        "lead_id": "text",  # erased with the person
        "event": "text",  # stage_changed, assigned, sla_breached
        "trigger": "text",
        "channel": "text",  # webhook or email
        "destination": "text",  # the URL, or the recipient (a rep's name or an address)
        "stage": "text",
        "previous_stage": "text",
        "owner": "text",
        "team": "text",
        "score": "float64",
        "at": "timestamp",
        "due_at": "timestamp",
        "fact_id": "text",
        "playbook_version": "int64",
        "status": "text",  # pending, delivered, dead
        "attempts": "int64",
        "next_attempt_at": "timestamp",
        "last_error": "text",
        "created_at": "timestamp",
        "delivered_at": "timestamp",
    },
    # Every playbook publish and roll back (store/playbook_store.py): the text in force from then on.
    "playbook_versions": {
        "seq": "int64",  # the order of the history
        "version": "int64",
        "name": "text",
        "digest": "text",
        "text": "text",
        "published_at": "timestamp",
        "published_by": "text",
        "action": "text",  # publish, rollback, or initial/edited (the file found in force, recorded)
        "replaced_version": "int64",  # the version in force before
        "replaced_digest": "text",
    },
}

FACT_IDS: dict[str, str] = {"events": "message_id", "traits": "fact_id", "identities": "fact_id"}
