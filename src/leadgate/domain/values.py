"""How leadgate writes values as text."""

from __future__ import annotations


def format_number(number: float) -> str:
    """Numbers as text without a trailing ``.0`` (so 200 reads as 200, not 200.0)."""
    return str(int(number)) if number.is_integer() else repr(number)
