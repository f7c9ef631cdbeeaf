"""Outcome labels read from the lifecycle facts: what became of each qualification episode.

An *episode* starts when a lead moves into MQL or PQL (the n-th such move of a lead is its
episode n, as ``lead_state.episode`` counts them) and lasts until its next qualification. Its
outcome is the first decisive move of the episode:

- ``converted``: it reached the playbook's ``predict.converts_at`` stage (SQL, or won);
- ``rejected``, ``recycled``, ``disqualified``, ``lost``: it left the funnel first;
- ``no_progress``: nothing decisive happened and ``predict.no_progress_days`` have passed;
- ``open``: too recent to know (``converted`` is null: such episodes are left out of training).

An episode is *settled* once ``predict.no_progress_days`` have passed since it qualified: its
outcome no longer waits on anything. Among younger episodes those already decided are a biased
sample (a rejection comes within hours, a conversion when the project is ready, "no progress"
only after the whole wait), so training keeps to settled ones when it can
(:func:`leadgate.predict.history_training.learning_episodes`).

Only facts recorded at or before ``as_of`` count, so a label is what one knew at that moment.
One Ibis expression over ``transitions``: it runs on every engine of the store.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from leadgate.playbook.model import Predict

QUALIFYING = ("mql", "pql")
EXITS = ("rejected", "recycled", "disqualified", "lost")  # the episode ended without converting
CONVERTING: dict[str, tuple[str, ...]] = {  # stages that prove a conversion (the machine passes SQL first)
    "sql": ("sql", "opportunity", "won"),
    "won": ("won",),
}
OUTCOMES = ("converted", *EXITS, "no_progress", "open")
LABEL_COLUMNS = (
    "fact_id",
    "lead_key",
    "episode",
    "qualified_at",
    "stage",
    "playbook_version",
    "outcome",
    "decided_at",
    "converted",
    "settled",
)


def episode_labels(transitions: ir.Table, rules: Predict, as_of: dt.datetime) -> ir.Table:
    """One row per qualification episode started at or before ``as_of``, with its outcome
    (columns :data:`LABEL_COLUMNS`; ``converted`` is null for an open episode; ``settled``: it
    qualified at least ``no_progress_days`` before ``as_of``)."""
    known = transitions.filter(transitions["at"] <= as_of)
    episodes = _episodes(known)
    moves = known.select(move_key=known.lead_key, move_seq=known.seq, move_at=known["at"], move_target=known.target)
    within = episodes.join(
        moves,
        [
            episodes.lead_key == moves.move_key,
            moves.move_seq > episodes.seq,
            episodes.next_seq.isnull() | (moves.move_seq < episodes.next_seq),
        ],
    )
    converting = within.move_target.isin(CONVERTING[rules.converts_at])
    decisive = within.filter(converting | within.move_target.isin(EXITS))
    first = decisive.mutate(
        outcome=ibis.ifelse(
            decisive.move_target.isin(CONVERTING[rules.converts_at]), "converted", decisive.move_target
        ),
        rank=ibis.row_number().over(group_by=decisive.fact_id, order_by=decisive.move_seq),
    )
    first = first.filter(first["rank"] == 0).select("fact_id", "outcome", decided_at=first.move_at)
    labelled = episodes.left_join(first, episodes.fact_id == first.fact_id)
    stalled = labelled.qualified_at <= ibis.literal(as_of) - ibis.interval(days=rules.no_progress_days)
    outcome = labelled.outcome.coalesce(ibis.ifelse(stalled, "no_progress", "open"))
    decided_at = labelled.decided_at.coalesce(
        ibis.ifelse(stalled, labelled.qualified_at + ibis.interval(days=rules.no_progress_days), ibis.null("timestamp"))
    )
    return labelled.select(
        fact_id=labelled.fact_id,
        lead_key=labelled.lead_key,
        episode=labelled.episode,
        qualified_at=labelled.qualified_at,
        stage=labelled.stage,
        playbook_version=labelled.playbook_version,
        outcome=outcome,
        decided_at=decided_at,
        converted=ibis.ifelse(outcome == "open", ibis.null("boolean"), outcome == "converted"),
        settled=stalled,
    )


def _episodes(known: ir.Table) -> ir.Table:
    """Each move into MQL or PQL, numbered per lead, with the seq of the lead's next one."""
    qualifying = known.filter(known.target.isin(QUALIFYING))
    per_lead = ibis.window(group_by=qualifying.lead_key, order_by=qualifying.seq)
    return qualifying.select(
        fact_id=qualifying.fact_id,
        lead_key=qualifying.lead_key,
        seq=qualifying.seq,
        episode=(ibis.row_number().over(per_lead) + 1).cast("int64"),
        qualified_at=qualifying["at"],
        stage=qualifying.target,
        playbook_version=qualifying.playbook_version,
        next_seq=qualifying.seq.lead().over(per_lead),
    )
