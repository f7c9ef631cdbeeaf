"""Checks that need the whole validated playbook: names that must refer to something."""

from __future__ import annotations

from collections import Counter

from leadgate.playbook.compiled import Playbook
from leadgate.playbook.yaml_source import Path

Problem = tuple[str, str, Path]


def check_references(playbook: Playbook) -> list[Problem]:
    """Every dangling reference or clash, with the path of the value to point at."""
    return [*_routing_targets(playbook), *_rule_ids(playbook)]


def _routing_targets(playbook: Playbook) -> list[Problem]:
    model = playbook.model
    problems: list[Problem] = []
    for index, rule in enumerate(model.routing):
        if rule.to.kind == "team":
            team = model.teams.get(rule.to.name or "")
            if team is None:
                known = ", ".join(sorted(model.teams)) or "no team is defined under 'teams:'"
                problems.append(("PB108", f"there is no team '{rule.to.name}' ({known})", ("routing", index, "to")))
                continue
            for rep in rule.weights or {}:
                if rep not in team.members:
                    problems.append(
                        (
                            "PB110",
                            f"'{rep}' is not a member of team '{rule.to.name}' ({', '.join(team.members)})",
                            ("routing", index, "weights", rep),
                        )
                    )
    if model.routing and model.routing[-1].when is not None:
        last = len(model.routing) - 1
        problems.append(
            (
                "PB115",
                "the last routing rule must have no 'when:', so that every lead finds an owner",
                ("routing", last),
            )
        )
    return problems


def _rule_ids(playbook: Playbook) -> list[Problem]:
    counts = Counter(rule.id for rule in playbook.rules)
    return [
        ("PB112", f"two rules have the id '{rule_id}'; each rule needs its own id", ("scoring",))
        for rule_id, count in counts.items()
        if count > 1
    ]
