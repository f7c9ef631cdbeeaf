"""One row per lead: when it first entered each stage, when it reached the next ones, and
who or what it belongs to (the dimensions a funnel is split by).

A *stage entry* is a transition into that stage. ``inquiry`` is entered when the lead is first
known (its first event or its first trait). ``qualified`` stands for MQL or PQL, whichever came
first. For each step ``a -> b`` of :data:`STEPS`, ``<a>__<b>`` is the first entry into ``b`` at
or after the lead first entered ``a`` (null when it never got there): a lead converted from
``a`` to ``b`` when that column is set. Every figure of the funnel is an aggregate of this table.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from leadgate.analytics.tables import FunnelTables
from leadgate.scoring.text_values import number_from_text

IMPORT_ACTOR = "crm-import"
NONE_LABEL = "(none)"

# Stages in funnel order; "qualified" (MQL or PQL) is not a stage of its own but a name for either.
STAGES = ("inquiry", "mql", "pql", "qualified", "sal", "sql", "opportunity", "won")
FUNNEL_STAGES = ("inquiry", "qualified", "sal", "sql", "opportunity", "won")
TARGETS: dict[str, tuple[str, ...]] = {
    "mql": ("mql",),
    "pql": ("pql",),
    "qualified": ("mql", "pql"),
    "sal": ("sal",),
    "sql": ("sql",),
    "opportunity": ("opportunity",),
    "won": ("won",),
    "recycled": ("recycled",),
}
STEPS: tuple[tuple[str, str], ...] = (
    ("inquiry", "mql"),
    ("inquiry", "pql"),
    ("mql", "sal"),
    ("pql", "sal"),
    ("sal", "sql"),
    ("sql", "opportunity"),
    ("opportunity", "won"),
    ("sql", "won"),
    ("inquiry", "won"),
    ("qualified", "sql"),
    ("qualified", "won"),
)
RECYCLE_STEPS: tuple[tuple[str, str], ...] = (
    ("recycled", "qualified"),
    ("recycled", "sal"),
    ("recycled", "sql"),
    ("recycled", "won"),
)
DIMENSIONS = ("source", "medium", "campaign", "segment", "playbook_version", "owner", "team")

# Account size bands for ``segment`` (from the account's ``employees`` trait), largest first.
SEGMENTS: tuple[tuple[float, str], ...] = ((1000, "enterprise"), (200, "mid-market"), (50, "small business"))


def step_column(source: str, target: str) -> str:
    return f"{source}__{target}"


def journeys(tables: FunnelTables) -> ir.Table:
    """The per-lead table described in the module docstring (one row per known lead)."""
    leads = _lead_keys(tables)
    firsts = _first_entries(tables.transitions)
    firsts = firsts.mutate(qualified=ibis.least(firsts.mql, firsts.pql))
    table = leads.left_join(firsts, "lead_key").drop("lead_key_right")
    table = table.left_join(_reached(tables.transitions, firsts), "lead_key").drop("lead_key_right")
    # A lead that moved was known by then, even when its traits are dated later (a CRM export);
    # so every stage is entered at or after the inquiry, and a step from inquiry is reached at
    # the stage's first entry.
    table = table.mutate(
        inquiry=ibis.least(table.inquiry, table.mql, table.pql),
        **{step_column("inquiry", target): table[target] for source, target in STEPS if source == "inquiry"},
    )
    for dimension in (_first_touch(tables), _segments(tables), _first_assignment(tables)):
        table = table.left_join(dimension, "lead_key").drop("lead_key_right")
    table = table.left_join(_lead_source(tables), "lead_key").drop("lead_key_right")
    return table.mutate(
        source=ibis.coalesce(table.utm_source, table.source_trait, NONE_LABEL),
        medium=table.utm_medium.fill_null(NONE_LABEL),
        campaign=table.utm_campaign.fill_null(NONE_LABEL),
        segment=table.segment.fill_null(NONE_LABEL),
        playbook_version=table.playbook_version.cast("string").fill_null(NONE_LABEL),
        owner=table.owner.fill_null(NONE_LABEL),
        team=table.team.fill_null(NONE_LABEL),
    ).drop("utm_source", "utm_medium", "utm_campaign", "source_trait")


def _lead_keys(tables: FunnelTables) -> ir.Table:
    """Every lead with the moment it was first known (its inquiry)."""
    keys = tables.person_keys
    leads = keys.filter((keys.id_kind == "user") & (keys.first_key == keys.lead_key)).select("lead_key")
    events = tables.events.filter(tables.events.lead_key.notnull())
    first_event = events.group_by("lead_key").aggregate(first_event=events.ts.min())
    traits = tables.traits.filter((tables.traits.entity_type == "lead") & tables.traits.entity_key.notnull())
    first_trait = traits.group_by(lead_key=traits.entity_key).aggregate(first_trait=traits.learnt_at.min())
    known = leads.left_join(first_event, "lead_key").drop("lead_key_right")
    known = known.left_join(first_trait, "lead_key").drop("lead_key_right")
    return known.select("lead_key", inquiry=ibis.least(known.first_event, known.first_trait))


def _first_entries(transitions: ir.Table) -> ir.Table:
    """First entry into each stage, the first recycling, and the score and playbook version of
    the first qualification."""
    t = transitions
    qualifying = t.target.isin(list(TARGETS["qualified"]))
    entries = {name: t.at.min(where=t.target == name) for name in ("mql", "pql", "sal", "sql", "opportunity", "won")}
    return t.group_by("lead_key").aggregate(
        **entries,
        recycled=t.at.min(where=t.target == "recycled"),
        qualified_score=t.score.argmin(t.at, where=qualifying),
        playbook_version=t.playbook_version.argmin(t.at, where=qualifying),
    )


def _reached(transitions: ir.Table, firsts: ir.Table) -> ir.Table:
    """For each step a -> b (a not inquiry): the first entry into b at or after the lead first entered a."""
    steps = [(source, target) for source, target in STEPS + RECYCLE_STEPS if source != "inquiry"]
    starts = firsts.select("lead_key", *sorted({source for source, _ in steps}))
    t = transitions.select("lead_key", "target", "at")
    joined = t.join(starts, "lead_key")
    columns = {
        step_column(source, target): joined.at.min(
            where=joined.target.isin(list(TARGETS[target])) & (joined.at >= joined[source])
        )
        for source, target in steps
    }
    return joined.group_by("lead_key").aggregate(**columns)


def _first_touch(tables: FunnelTables) -> ir.Table:
    """The UTM fields of the lead's first event that carries any."""
    e = tables.events
    touches = e.filter(
        e.lead_key.notnull() & (e.utm_source.notnull() | e.utm_medium.notnull() | e.utm_campaign.notnull())
    )
    order = ibis.struct({"ts": touches.ts, "message_id": touches.message_id})
    return touches.group_by("lead_key").aggregate(
        utm_source=touches.utm_source.argmin(order),
        utm_medium=touches.utm_medium.argmin(order),
        utm_campaign=touches.utm_campaign.argmin(order),
    )


def _latest_trait(traits: ir.Table, name: str, key: str, column: str) -> ir.Table:
    chosen = traits.filter(traits.name == name)
    order = ibis.struct({"learnt_at": chosen.learnt_at, "batch_id": chosen.batch_id, "seq": chosen.seq})
    return chosen.group_by(chosen[key]).aggregate(**{column: chosen.value.argmax(order)})


def _lead_source(tables: FunnelTables) -> ir.Table:
    """The lead's ``source`` trait (a CRM export's lead source), for leads without a UTM touch."""
    traits = tables.traits.filter(tables.traits.entity_type == "lead")
    latest = _latest_trait(traits, "source", "entity_key", "source_trait")
    return latest.rename(lead_key="entity_key")


def _segments(tables: FunnelTables) -> ir.Table:
    """The size band of the lead's account (its latest membership, the account's latest ``employees``)."""
    links = tables.identities.filter((tables.identities.kind == "account") & tables.identities.entity_key.notnull())
    order = ibis.struct({"learnt_at": links.learnt_at, "batch_id": links.batch_id, "seq": links.seq})
    membership = links.group_by(lead_key=links.entity_key).aggregate(account_id=links.to_id.argmax(order))
    accounts = tables.traits.filter(tables.traits.entity_type == "account")
    sizes = _latest_trait(accounts, "employees", "entity_id", "employees")
    joined = membership.left_join(sizes, membership.account_id == sizes.entity_id)
    employees = number_from_text(joined.employees)
    bands = [(employees >= floor, label) for floor, label in SEGMENTS]
    segment = ibis.cases(*bands, else_=ibis.cases((employees.notnull(), "very small"), else_=ibis.null("string")))
    return joined.select("lead_key", segment=segment)


def _first_assignment(tables: FunnelTables) -> ir.Table:
    a = tables.assignments
    order = ibis.struct({"at": a.at, "seq": a.seq})
    return a.group_by("lead_key").aggregate(owner=a.owner.argmin(order), team=a.team.argmin(order))
