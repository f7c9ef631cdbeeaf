"""What rule feedback reads: each qualification episode with the rules that got the lead there,
what sales decided and how it ended, plus each lead's first touch.

Episodes and their ``converted`` label come from :func:`leadgate.predict.labels.episode_labels`.
Within an episode (from its qualification to the lead's next one) this module adds whether the
lead was accepted or rejected, and whether it reached SQL (or beyond) and won, from the
``transitions`` facts. The rule points are the ``contributions`` the qualifying transition
recorded: what each rule gave at the moment the lead qualified.
"""

from __future__ import annotations

import datetime as dt

import ibis
import orjson
import pandas as pd

from leadgate.playbook.compiled import Playbook
from leadgate.predict.labels import episode_labels
from leadgate.store.base import Store

SQL_OR_BEYOND = ("sql", "opportunity", "won")


def episodes(store: Store, playbook: Playbook, as_of: dt.datetime) -> pd.DataFrame:
    """One row per episode: ``fact_id``, ``lead_key``, ``qualified_at``, ``stage``, ``converted``
    (None: open), ``fit``, ``engagement``, ``score``, ``points`` (rule id -> points), ``accepted``,
    ``rejected``, ``sql``, ``won``."""
    transitions = store.backend.table("transitions")
    labels = episode_labels(transitions, playbook.model.predict, as_of)
    recorded = transitions.select("fact_id", "fit", "engagement", "score", "contributions")
    frame = labels.join(recorded, "fact_id").to_pyarrow().to_pandas()
    frame = frame.sort_values(["lead_key", "qualified_at"]).reset_index(drop=True)
    frame["until"] = frame.groupby("lead_key")["qualified_at"].shift(-1)
    frame["points"] = [_points(text) for text in frame.pop("contributions")]
    moves = _moves(store, as_of)
    for flag, targets in {
        "accepted": ("sal",),
        "rejected": ("rejected",),
        "sql": SQL_OR_BEYOND,
        "won": ("won",),
    }.items():
        frame[flag] = _within(frame, moves[moves["target"].isin(targets)])
    return frame.drop(columns="until")


def _points(text: str | None) -> dict[str, float]:
    if not text:
        return {}
    return {str(item["rule"]): float(item["points"]) for item in orjson.loads(text)}


def _moves(store: Store, as_of: dt.datetime) -> pd.DataFrame:
    transitions = store.backend.table("transitions")
    known = transitions.filter(transitions["at"] <= ibis.literal(as_of))
    return known.select("lead_key", "target", moved_at=known["at"]).to_pyarrow().to_pandas()


def _within(frame: pd.DataFrame, moves: pd.DataFrame) -> pd.Series:
    """Whether one of ``moves`` falls inside each episode (after it starts, before the next)."""
    pairs = frame[["fact_id", "lead_key", "qualified_at", "until"]].merge(moves, on="lead_key")
    inside = (pairs["moved_at"] >= pairs["qualified_at"]) & (
        pairs["until"].isna() | (pairs["moved_at"] < pairs["until"])
    )
    hit = set(pairs.loc[inside, "fact_id"])
    return frame["fact_id"].isin(hit)


def rejections(store: Store, frame: pd.DataFrame, as_of: dt.datetime) -> pd.DataFrame:
    """Each reject decision recorded by ``as_of`` with its ``reason``, ``rep`` (who decided), the lead's first-touch
    ``source`` and ``campaign``, and ``rules`` (those that gave or took points in the episode it ended)."""
    decisions = store.backend.table("decisions")
    rejects = decisions.filter((decisions.kind == "reject") & (decisions["at"] <= ibis.literal(as_of))).select(
        "lead_key", reason=decisions.reason.fill_null("(none)"), rep=decisions.actor, decided_at=decisions["at"]
    )
    touches = first_touches(store)
    rows = rejects.left_join(touches, rejects.lead_key == touches.touch_key).drop("touch_key")
    table = rows.to_pyarrow().to_pandas().sort_values("decided_at")
    starts = frame[["lead_key", "qualified_at", "points"]].sort_values("qualified_at")
    joined = pd.merge_asof(table, starts, left_on="decided_at", right_on="qualified_at", by="lead_key")
    joined["rules"] = [
        sorted(rule for rule, points in (found if isinstance(found, dict) else {}).items() if points != 0)
        for found in joined["points"]
    ]
    return joined.drop(columns=["points", "qualified_at"])


def first_touches(store: Store) -> ibis.Table:
    """``touch_key``, ``source`` and ``campaign`` of each lead's first event with a ``utm_source``."""
    events = store.backend.table("events")
    tagged = events.filter(events.utm_source.notnull() & events.lead_key.notnull())
    ranked = tagged.mutate(
        rank=ibis.row_number().over(group_by=tagged.lead_key, order_by=[tagged.ts, tagged.message_id])
    )
    first = ranked.filter(ranked["rank"] == 0)
    return first.select(touch_key=first.lead_key, source=first.utm_source, campaign=first.utm_campaign)
