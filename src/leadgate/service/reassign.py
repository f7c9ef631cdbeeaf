"""Reassigning a lead by hand: read its state, let the pure rule check the move, record it.

One path for the web app's team page and ``leadgate reassign``. The assignment is recorded
only if the lead has not changed since it was read (and since the manager looked at it, when
the request names a version), so a concurrent decision or cycle makes it a conflict, never a
silent overwrite. The outbox notifies it like any assignment (``on: assigned`` rules), once
the next cycle collects the new facts.
"""

from __future__ import annotations

from leadgate.lifecycle.facts import LeadState
from leadgate.lifecycle.reassign import Reassignment, reassign
from leadgate.playbook.compiled import Playbook
from leadgate.service.decisions import lead_key_of
from leadgate.store.base import Store
from leadgate.store.lifecycle_store import LifecycleStore


def reassign_lead(store: Store, playbook: Playbook, request: Reassignment) -> LeadState:
    """Check and record one reassignment; the lead's new state."""
    lead_key = lead_key_of(store, request.lead_id)
    lifecycle = LifecycleStore(store)
    state = lifecycle.state(lead_key)
    fact = reassign(state, request, playbook.model, lifecycle.absences())
    return lifecycle.record([fact], {lead_key: state.version})[lead_key]
