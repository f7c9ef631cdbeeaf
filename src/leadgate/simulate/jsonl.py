"""A history as Segment-spec messages, one JSON object per line.

Events become ``page`` and ``track`` messages, built column-wise from text pieces (each
template's and campaign's JSON is serialised once), so a million lines take seconds. Each
lead also gets the ``identify`` message of the form that named it (carrying the cookie's
``anonymousId`` too, which stitches its earlier anonymous visits to it) and a ``group``
message joining it to its account.
"""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from leadgate.simulate.arrays import Ints, Texts
from leadgate.simulate.behaviour import Block
from leadgate.simulate.clock import NEVER
from leadgate.simulate.facts import PersonIds, joined, message_ids, person_message_ids
from leadgate.simulate.history import History
from leadgate.simulate.profiles import GROUP_TRAITS, IDENTIFY_TRAITS
from leadgate.simulate.templates import CAMPAIGNS, TEMPLATES, Template


def _head(template: Template) -> str:
    """The opening of a message of this template, up to the message id."""
    fields: dict[str, object] = {"type": template.kind}
    if template.kind == "track":
        fields["event"] = template.name
    if template.properties:
        fields["properties"] = template.property_dict()
    return orjson.dumps(fields).decode()[:-1] + ","


_HEADS = pa.array([_head(template) for template in TEMPLATES])
_CONTEXTS = pa.array(
    [""]
    + [
        ',"context":'
        + orjson.dumps({"campaign": {"source": c.source, "medium": c.medium, "name": c.campaign}}).decode()
        for c in CAMPAIGNS
    ]
)


def iso_times(moments: Ints) -> Texts:
    """ISO 8601 UTC texts to the second (``2026-11-20T09:30:00Z``); NEVER gives ``""``."""
    known = moments != NEVER
    texts = np.full(len(moments), "", dtype=object)
    texts[known] = np.char.add(np.datetime_as_string(moments[known].astype("datetime64[s]"), unit="s"), "Z")
    return texts


def event_lines(history: History, block: Block, ids: PersonIds, first_number: int) -> pa.Array:
    """The ``page`` and ``track`` messages of a block's events."""
    events = block.events
    moment = pa.array(iso_times(events.moment), pa.string())
    nothing = pa.scalar("", pa.string())
    user = pc.if_else(
        pa.array(block.carries_user_id), joined(['"userId":"', ids.user_ids_of(block), '",'], ""), nothing
    )
    anonymous = pc.if_else(
        pa.array(block.carries_anonymous_id),
        joined(['"anonymousId":"', ids.anonymous_ids_of(block), '",'], ""),
        nothing,
    )
    pieces = [
        _HEADS.take(pa.array(events.template)),
        '"messageId":"',
        message_ids(history, first_number, len(events)),
        '",',
        user,
        anonymous,
        '"timestamp":"',
        moment,
        '","receivedAt":"',
        moment,
        '"',
        _CONTEXTS.take(pa.array(events.campaign + 1)),
        "}",
    ]
    return joined(pieces, "")


def identity_lines(
    history: History, lead: Ints, lead_profile: dict[str, Texts], account_profile: dict[str, Texts]
) -> list[str]:
    """The ``identify`` and ``group`` messages of some leads, in that order for each."""
    leads, accounts = history.world.leads, history.world.accounts
    identify_ids = person_message_ids(history, "identify", lead).to_pylist()
    group_ids = person_message_ids(history, "group", lead).to_pylist()
    moments = iso_times(history.arrivals.identified_at[lead])
    lines = []
    for row, number in enumerate(lead):
        account = leads.account[number]
        common = {"userId": leads.ids[number], "timestamp": moments[row], "receivedAt": moments[row]}
        identify = {
            "type": "identify",
            "messageId": identify_ids[row],
            "anonymousId": leads.anonymous_ids[number],
            **common,
            "traits": {name: lead_profile[column][row] for name, column in IDENTIFY_TRAITS.items()},
        }
        group_traits: dict[str, object] = {name: account_profile[name][account] for name in GROUP_TRAITS}
        group_traits["employees"] = int(accounts.employees[account])
        group = {
            "type": "group",
            "messageId": group_ids[row],
            **common,
            "groupId": accounts.ids[account],
            "traits": group_traits,
        }
        lines += [orjson.dumps(identify).decode(), orjson.dumps(group).decode()]
    return lines
