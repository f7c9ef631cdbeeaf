"""A playbook draft as the editor shows it: checked, with every problem at its line.

Pure: the draft's text in, a :class:`Draft` out (the parsed playbook, or the issues and a
numbered listing whose bad lines carry the issues), so the page only lays it out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from leadgate.errors import Issue, PlaybookInvalid, TooLarge
from leadgate.playbook.compiled import Playbook
from leadgate.playbook.loader import parse_playbook

MAX_DRAFT_CHARACTERS = 1024 * 1024  # the REST API takes playbooks up to 1 MB too


@dataclass(frozen=True)
class DraftLine:
    """One line of the numbered listing; ``issues`` are the problems found on it."""

    number: int
    text: str
    issues: list[Issue] = field(default_factory=list)


@dataclass(frozen=True)
class Draft:
    """A checked draft: its text (line ends as the file will have them) and the playbook or the issues."""

    text: str
    playbook: Playbook | None
    issues: list[Issue]

    @property
    def valid(self) -> bool:
        return self.playbook is not None

    def listing(self) -> list[DraftLine]:
        """Every line, numbered from 1, with its issues (an issue past the end is on the last line)."""
        lines = self.text.split("\n")
        found: dict[int, list[Issue]] = defaultdict(list)
        for issue in self.issues:
            found[min(max(issue.line, 1), len(lines))].append(issue)
        return [DraftLine(number, text, found.get(number, [])) for number, text in enumerate(lines, start=1)]


def normalized(text: str) -> str:
    """The draft with the line ends the file gets (a browser sends CR LF)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_draft(text: str, filename: str) -> Draft:
    """Validate the draft; a bad one gives every issue, in file order, instead of a playbook."""
    if len(text) > MAX_DRAFT_CHARACTERS:
        raise TooLarge(f"the draft is over {MAX_DRAFT_CHARACTERS // 1024} KB, the largest playbook leadgate takes")
    text = normalized(text)
    try:
        return Draft(text, parse_playbook(text, filename), [])
    except PlaybookInvalid as invalid:
        return Draft(text, None, invalid.issues)
