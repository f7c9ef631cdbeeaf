"""The traits of leads and accounts as text, column by column, for files and the store alike.

Both outputs take their values from here, so ``leads.csv`` and ``accounts.csv`` say exactly
what the store receives. ``None`` is an unknown value (an empty cell, no trait).
"""

from __future__ import annotations

import numpy as np

from leadgate.simulate import catalogue as cat
from leadgate.simulate.arrays import Ints, Texts, texts
from leadgate.simulate.history import History

LEAD_COLUMNS = ("email", "first_name", "last_name", "role", "department", "budget_estimate", "need_maturity", "source")
ACCOUNT_COLUMNS = ("name", "domain", "employees", "industry", "country", "revenue", "owner", "uses_competitor")
IDENTIFY_TRAITS = {"email": "email", "firstName": "first_name", "lastName": "last_name"}
"""What a form sends in an ``identify`` message: Segment's trait name -> the lead column."""
GROUP_TRAITS = ("name", "industry", "employees")
"""The account traits a ``group`` message carries."""


def lead_profiles(history: History, lead: Ints) -> dict[str, Texts]:
    """The lead columns of ``leads.csv`` for some leads."""
    leads = history.world.leads
    budget = leads.budget[lead]
    need = leads.need[lead]
    return {
        "email": leads.emails[lead],
        "first_name": leads.first_names[lead],
        "last_name": leads.last_names[lead],
        "role": texts([entry.name for entry in cat.ROLES])[leads.role[lead]],
        "department": leads.department[lead],
        "budget_estimate": texts([None if np.isnan(value) else str(int(value)) for value in budget]),
        "need_maturity": texts([None if value < 0 else cat.NEED_MATURITIES[value].name for value in need]),
        "source": texts([entry.name for entry in cat.LEAD_SOURCES])[leads.source[lead]],
    }


def account_profiles(history: History) -> dict[str, Texts]:
    """The columns of ``accounts.csv``."""
    accounts = history.world.accounts
    return {
        "name": accounts.names,
        "domain": accounts.domains,
        "employees": texts([str(value) for value in accounts.employees]),
        "industry": texts([entry.name for entry in cat.INDUSTRIES])[accounts.industry],
        "country": texts([entry.code for entry in cat.COUNTRIES])[accounts.country],
        "revenue": texts([str(value) for value in accounts.revenue]),
        "owner": texts([None if value < 0 else cat.REPS[value] for value in accounts.owner]),
        "uses_competitor": texts(["true" if value else "false" for value in accounts.uses_competitor]),
    }


def email_domains(emails: Texts) -> Texts:
    """The domain of each e-mail address (as the importer derives it)."""
    return texts([email.rpartition("@")[2] for email in emails])
