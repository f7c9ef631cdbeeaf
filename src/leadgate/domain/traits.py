"""The traits leadgate knows without being told, and their types.

A trait is a profile attribute of a lead or an account, stored as a fact with the time it was
learnt. Conditions are type-checked against these declarations (plus the playbook's own
``traits:`` section), so ``account.employees >= 'big'`` is refused when the playbook loads.
"""

from __future__ import annotations

from typing import Literal

TraitType = Literal["number", "text", "boolean"]
TRAIT_TYPES: tuple[TraitType, ...] = ("number", "text", "boolean")

BUILTIN_LEAD_TRAITS: dict[str, TraitType] = {
    "email": "text",
    "email_domain": "text",
    "first_name": "text",
    "last_name": "text",
    "name": "text",
    "phone": "text",
    "title": "text",
    "role": "text",
    "department": "text",
    "seniority": "text",
    "country": "text",
    "city": "text",
    "source": "text",
    "budget_estimate": "number",
    "need_maturity": "text",
    "timeline": "text",
}

BUILTIN_ACCOUNT_TRAITS: dict[str, TraitType] = {
    "name": "text",
    "domain": "text",
    "employees": "number",
    "industry": "text",
    "country": "text",
    "revenue": "number",
    "plan": "text",
    "owner": "text",
}

# Traits that identify a person; erased on a personal-data erasure request.
PERSONAL_LEAD_TRAITS = frozenset({"email", "email_domain", "first_name", "last_name", "name", "phone", "city"})

# Names under ``account.`` that leadgate computes; a trait may not take them.
COMPUTED_ACCOUNT_VALUES: dict[str, TraitType] = {
    "score": "number",
    "fit": "number",
    "coverage": "number",
}
