"""Outcome labels of qualification episodes, on a small world whose answers are worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from leadgate.playbook.model import Predict
from leadgate.predict.labels import episode_labels
from leadgate.store.base import Store
from tests.worlds import Handoff, World

AS_OF = dt.datetime(2026, 6, 1)


@pytest.fixture
def story(store: Store, world: World) -> Store:
    for lead in ("ann", "bob", "cid", "dan", "eve", "fay", "gus", "hal", "ivy"):
        world.lead(lead, role="CTO")
    world.save()
    h = Handoff(store)
    h.moved("ann", "mql", "2026-03-01T09:00:00").moved("ann", "sal", "2026-03-02T09:00:00")
    h.moved("ann", "sql", "2026-03-05T09:00:00")
    h.moved("bob", "mql", "2026-03-01T09:00:00").moved("bob", "rejected", "2026-03-03T09:00:00")
    h.moved("bob", "recycled", "2026-03-03T09:00:00").moved("bob", "mql", "2026-03-20T09:00:00")
    h.moved("bob", "sal", "2026-03-21T09:00:00").moved("bob", "sql", "2026-03-25T09:00:00")
    h.moved("cid", "pql", "2026-03-01T09:00:00").moved("cid", "disqualified", "2026-03-04T09:00:00")
    h.moved("dan", "mql", "2026-01-01T09:00:00")  # nothing since: 151 days by AS_OF
    h.moved("eve", "mql", "2026-05-20T09:00:00")  # 12 days by AS_OF: open
    for stage, day in (
        ("mql", "03-01"),
        ("sal", "03-02"),
        ("sql", "03-10"),
        ("opportunity", "03-15"),
        ("lost", "04-01"),
    ):
        h.moved("fay", stage, f"2026-{day}T09:00:00")
    for stage, day in (
        ("mql", "03-01"),
        ("sal", "03-02"),
        ("sql", "03-10"),
        ("opportunity", "03-15"),
        ("won", "04-10"),
    ):
        h.moved("gus", stage, f"2026-{day}T09:00:00")
    h.moved("hal", "mql", "2026-07-01T09:00:00")  # after AS_OF: not an episode yet
    h.moved("ivy", "mql", "2026-03-01T09:00:00").moved("ivy", "sal", "2026-03-02T09:00:00")
    h.moved("ivy", "sql", "2026-07-01T09:00:00")  # after AS_OF: 92 days without progress by then
    h.save()
    return store


def labels(store: Store, rules: Predict) -> dict[tuple[str, int], tuple[str, bool | None]]:
    frame = episode_labels(store.backend.table("transitions"), rules, AS_OF).to_pandas()
    ids = {store.lead_key_of(lead): lead for lead in ("ann", "bob", "cid", "dan", "eve", "fay", "gus", "hal", "ivy")}
    return {
        (ids[row.lead_key], int(row.episode)): (row.outcome, None if row.outcome == "open" else bool(row.converted))
        for row in frame.itertuples()
    }


def test_episodes_converted_at_sql(story: Store) -> None:
    assert labels(story, Predict(converts_at="sql", no_progress_days=90)) == {
        ("ann", 1): ("converted", True),
        ("bob", 1): ("rejected", False),
        ("bob", 2): ("converted", True),
        ("cid", 1): ("disqualified", False),
        ("dan", 1): ("no_progress", False),
        ("eve", 1): ("open", None),
        ("fay", 1): ("converted", True),
        ("gus", 1): ("converted", True),
        ("ivy", 1): ("no_progress", False),
    }


def test_episodes_converted_when_won(story: Store) -> None:
    assert labels(story, Predict(converts_at="won", no_progress_days=90)) == {
        ("ann", 1): ("no_progress", False),  # SQL on 03-05, never won: 92 days by AS_OF
        ("bob", 1): ("rejected", False),
        ("bob", 2): ("open", None),  # qualified 03-20: 73 days, not decided
        ("cid", 1): ("disqualified", False),
        ("dan", 1): ("no_progress", False),
        ("eve", 1): ("open", None),
        ("fay", 1): ("lost", False),
        ("gus", 1): ("converted", True),
        ("ivy", 1): ("no_progress", False),
    }


def test_a_longer_patience_keeps_stalled_episodes_open(story: Store) -> None:
    found = labels(story, Predict(converts_at="sql", no_progress_days=120))
    assert found[("ivy", 1)] == ("open", None)  # 92 days < 120
    assert found[("dan", 1)] == ("no_progress", False)  # 151 days >= 120


def test_the_playbook_section_is_optional_and_checked() -> None:
    from pydantic import ValidationError

    assert Predict() == Predict(converts_at="sql", no_progress_days=90)
    with pytest.raises(ValidationError):
        Predict(converts_at="opportunity")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Predict(no_progress_days=0)


def test_an_episode_settles_once_no_progress_days_have_passed(story: Store) -> None:
    """Settled: qualified at least ``no_progress_days`` before AS_OF (06-01), decided or not."""
    frame = episode_labels(story.backend.table("transitions"), Predict(no_progress_days=90), AS_OF).to_pandas()
    ids = {story.lead_key_of(lead): lead for lead in ("ann", "bob", "dan", "eve", "ivy")}
    settled = {
        (ids[row.lead_key], int(row.episode)): bool(row.settled) for row in frame.itertuples() if row.lead_key in ids
    }
    assert settled == {
        ("ann", 1): True,  # 03-01: 92 days
        ("bob", 1): True,
        ("bob", 2): False,  # 03-20: 73 days, though already converted
        ("dan", 1): True,  # 01-01: 151 days
        ("eve", 1): False,  # 05-20: 12 days, open
        ("ivy", 1): True,
    }
    impatient = episode_labels(story.backend.table("transitions"), Predict(no_progress_days=11), AS_OF).to_pandas()
    assert impatient["settled"].all()  # eve, the youngest, qualified 11 days 15 hours before AS_OF
