"""The latest traits of every lead and account, kept between incremental runs.

A scoring reads each lead's and account's traits as of its moment: per trait, the value of
the latest fact learnt by then (:func:`~leadgate.scoring.snapshots.trait_snapshot`). Read
from the facts, that is every fact the rescored leads and their accounts ever had, and
profile updates restate traits again and again: after ten minutes of the service's bench,
about 72 trait facts a touched lead and 450 an account, sorted on every run.

The state keeps rows of the traits table itself, as of a moment and over the import batches
up to a watermark: per entity and trait a scoring reads, the latest fact learnt by the
moment, and every fact learnt after it (dated in the future then; a later moment may count
them). A snapshot reads it as it reads the facts. The next run, at a later moment, takes
the facts of the batches after the watermark: the rows of each entity they name are that
entity's rows and new facts, reduced the same way. Facts only ever add up this way, with two
exceptions that the event state already tells apart (see
:mod:`~leadgate.scoring.event_state`): an alias moves another person's traits to a lead, and
an erasure deletes a lead's. The rows of the rescored leads whose events it reads again are
read again from their facts too.

Lead rows keep no text id, account rows no key: the state is keyed by ``entity_key`` for
leads and ``entity_id`` for accounts.
"""

from __future__ import annotations

import functools

import ibis
import ibis.expr.types as ir

from leadgate.playbook.compiled import Playbook
from leadgate.scoring.engine import used_traits
from leadgate.scoring.moment import Moment
from leadgate.scoring.snapshots import learnt_order
from leadgate.store.facts import Facts

ENTITY_COLUMNS = ("entity_type", "entity_key", "entity_id", "name")  # an entity's trait
FACT_COLUMNS = ("value", "learnt_at", "batch_id", "seq")  # one fact of it
KEPT_COLUMNS = (*ENTITY_COLUMNS, *FACT_COLUMNS)


class TraitState:
    """The trait rows a scoring of ``playbook`` reads; see the module docstring."""

    def __init__(self, playbook: Playbook, facts: Facts, moment: Moment) -> None:
        lead, account = used_traits(playbook)
        self.names = {"lead": sorted(lead), "account": sorted(account)}
        self.facts = facts
        self.moment = moment

    def made(self, upto: ir.IntegerValue) -> ir.Table:
        """Every entity's rows, from the facts of the batches up to ``upto``."""
        traits = self.facts.traits
        return self._reduced(self._used(traits.filter(traits.batch_id <= upto)))

    def updated(
        self, kept: ir.Table, batches: tuple[ir.IntegerValue, ir.IntegerValue], rescored: ir.Table, reread: ir.Table
    ) -> ir.Table:
        """The new rows of the rescored leads (``rescored.lead_key``) and of the accounts
        named by the facts of the batches after the first of ``batches`` up to the second;
        ``kept``: the rows as of the first. The leads of ``reread`` (``lead_key``) have their
        rows made from their facts again."""
        since, upto = batches
        traits = self.facts.traits
        new = self._used(traits.filter(traits.batch_id > since, traits.batch_id <= upto))
        new = new.filter((new.entity_type == "account") | ~new.entity_key.isin(reread.lead_key))
        changed = new.filter(new.entity_type == "account").select("entity_id").distinct()
        leads = kept.filter(
            kept.entity_type == "lead", kept.entity_key.isin(rescored.lead_key), ~kept.entity_key.isin(reread.lead_key)
        )
        accounts = kept.filter(kept.entity_type == "account", kept.entity_id.isin(changed.entity_id))
        again = self._used(traits.filter(traits.batch_id <= upto, traits.entity_key.isin(reread.lead_key)))
        rows = [again, new, leads.select(*KEPT_COLUMNS), accounts.select(*KEPT_COLUMNS)]
        return self._reduced(functools.reduce(lambda left, right: left.union(right, distinct=False), rows))

    def empty(self, like: ir.Table) -> ir.Table:
        """No rows, with the state's columns (``like``: any table, e.g. the facts' traits)."""
        return self._used(like.filter(ibis.literal(False)))

    def _used(self, traits: ir.Table) -> ir.Table:
        """The facts of the traits a scoring reads, lead rows without their text id, account
        rows without a key."""
        parts = []
        for kind, names in self.names.items():
            facts = traits.filter(traits.entity_type == kind, traits.name.isin(names) if names else ibis.literal(False))
            key = facts.entity_key if kind == "lead" else ibis.null("int64")
            text_id = facts.entity_id if kind == "account" else ibis.null("string")
            fact = {column: facts[column] for column in FACT_COLUMNS}
            parts.append(facts.select("entity_type", entity_key=key, entity_id=text_id, name=facts.name, **fact))
        return parts[0].union(parts[1], distinct=False)

    def _reduced(self, rows: ir.Table) -> ir.Table:
        """Per entity and trait, the latest fact learnt by the moment, and those learnt after it."""
        learnt = rows.filter(rows.learnt_at <= self.moment.at)
        order = learnt_order(learnt)
        latest = learnt.group_by(list(ENTITY_COLUMNS)).aggregate(
            **{column: learnt[column].argmax(order) for column in FACT_COLUMNS}
        )
        later = rows.filter(rows.learnt_at > self.moment.at)
        return latest.select(*KEPT_COLUMNS).union(later.select(*KEPT_COLUMNS), distinct=False)
