"""Every stable error code leadgate reports, with its title (docs/errors.md explains each).

Codes never change meaning; a retired code is never reused. ``PB`` codes come from playbook
validation (``FILE:LINE:COLUMN``), ``IM`` codes from imports (``FILE:LINE``).
"""

from __future__ import annotations

CODES: dict[str, str] = {
    "PB001": "not valid YAML",
    "PB002": "not a block of key: value lines",
    "PB003": "a key written twice",
    "PB010": "unknown field",
    "PB011": "missing field",
    "PB012": "wrong kind of value",
    "PB013": "options that do not fit together",
    "PB101": "condition cannot be read",
    "PB102": "unknown name in a condition",
    "PB103": "types do not match in a condition",
    "PB104": "unknown named list",
    "PB105": "name not available in this place",
    "PB106": "unknown time zone",
    "PB107": "bad time of day or business hours",
    "PB108": "unknown team",
    "PB109": "unknown stage",
    "PB110": "rep not in the team",
    "PB112": "two rules with one id",
    "PB114": "trait declaration clashes with a built-in",
    "PB115": "routing has no catch-all rule",
    "IM001": "line is not valid JSON",
    "IM002": "required field missing",
    "IM003": "not a time",
    "IM004": "unknown message type",
    "IM005": "value of the wrong type",
    "IM006": "not a JSON object",
    "IM007": "row width differs from the header",
    "IM008": "an outcome the lead's stage does not allow",
}
