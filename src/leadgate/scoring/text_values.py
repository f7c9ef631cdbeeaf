"""Numbers and trimmed text read out of stored text, the same way on every engine.

Traits and event properties are stored as text and typed when a condition reads them. The
engines' own conversions disagree at the edges, so these are spelled out with a regular
expression that reads the same on all of them:

- ``TRY_CAST(text AS DOUBLE)`` takes ``1_000`` on DuckDB but ``5d`` and ``5f`` (Java's number
  suffixes) on Spark, and both take ``nan``, which Spark then calls null while DuckDB does not;
  only decimal and scientific notation are numbers here, anything else is missing;
- Ibis compiles ``strip()`` for Spark with ``\\v`` and ``\\f`` escapes that Spark reads as the
  letters ``v`` and ``f``, so ``false`` would lose its first letter;
- ``lower()`` follows Unicode's full rules on Spark (and in Python) but the simple ones on
  DuckDB: ``ΟΔΥΣΣΕΥΣ`` ends in ``ς`` on one and ``σ`` on the other, ``İ`` becomes ``i`` plus a
  combining dot on one and ``i`` on the other. Folded case settles both the same way.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

_SURROUNDING_SPACE = r"^[ \t\n\r\x0b\x0c]+|[ \t\n\r\x0b\x0c]+$"
_NUMBER = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)(e[+-]?[0-9]+)?$"
# The two letters whose lower case the engines write differently, and what both agree on.
_CAPITAL_I_WITH_DOT, _FINAL_SIGMA = ("İ", "i"), ("ς", "σ")


def trimmed(text: ir.StringValue) -> ir.StringValue:
    """The text without the spaces, tabs and line breaks around it."""
    return text.re_replace(_SURROUNDING_SPACE, "")


def number_from_text(text: ir.StringValue) -> ir.FloatingValue:
    """The number a text writes, or missing when it is not one."""
    number_text = trimmed(text).lower()
    return ibis.ifelse(  # type: ignore[return-value]
        number_text.re_search(_NUMBER), number_text.try_cast("float64"), ibis.null("float64")
    )


def folded_case(text: ir.StringValue) -> ir.StringValue:
    """Lower case, written the same on every engine (and by :func:`fold_case`)."""
    return text.replace(*_CAPITAL_I_WITH_DOT).lower().replace(*_FINAL_SIGMA)


def fold_case(text: str) -> str:
    """:func:`folded_case` of a playbook's literal, in Python."""
    return text.replace(*_CAPITAL_I_WITH_DOT).lower().replace(*_FINAL_SIGMA)
