"""The simulated market: accounts with firmographics, their contacts, and anonymous visitors.

Company sizes are log-normal (many small companies, a few large ones); larger companies
have more contacts and more often an owner in the CRM. A contact's role depends on the size
of its company (small companies put their CEO in front), its department on its role, and its
budget on both. Most e-mails are on the company's domain, some on a freemail domain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadgate.simulate import catalogue as cat
from leadgate.simulate.arrays import Bools, Floats, Ints, Texts, choose, texts
from leadgate.simulate.templates import SOURCE_CAMPAIGN

MIN_EMPLOYEES, MAX_EMPLOYEES = 5, 20_000
MAX_CONTACTS = 8
VISITORS_PER_LEAD = 0.5
PAID_VISITOR_SHARE = 0.3
PAID_SOURCES = ("paid_search", "linkedin")
MEDIAN_EMPLOYEES, EMPLOYEE_SPREAD = 60, 1.5  # of the log-normal company size
MEDIAN_REVENUE_PER_EMPLOYEE = 150_000
MID_MARKET, TINY_COMPANY = 200, 20
OWNER_CHANCE, OWNER_BONUS_MID_MARKET, OWNER_BONUS_ENTERPRISE = 0.12, 0.08, 0.25
COMPETITOR_CHANCE, COMPETITOR_BONUS_MID_MARKET = 0.15, 0.1
FREEMAIL_CHANCE, FREEMAIL_BONUS_TINY, FREEMAIL_BONUS_JOB_SEEKER = 0.07, 0.13, 0.5
BUDGET_KNOWN_CHANCE, BUDGET_KNOWN_PER_SENIORITY, MAX_BUDGET_KNOWN = 0.25, 0.15, 0.8
MEDIAN_BUDGET = 2_500  # of a seniority-1 contact in a 50-person company
BUDGET_STEP = 500


@dataclass(frozen=True)
class Accounts:
    """The companies, one array per trait."""

    ids: Texts
    names: Texts
    domains: Texts
    employees: Ints
    industry: Ints  # into catalogue.INDUSTRIES
    country: Ints  # into catalogue.COUNTRIES
    zone: Ints  # into catalogue.ZONES
    revenue: Ints
    owner: Ints  # into catalogue.REPS, -1: no owner
    uses_competitor: Bools


@dataclass(frozen=True)
class Leads:
    """The contacts, one array per trait."""

    ids: Texts
    account: Ints
    first_names: Texts
    last_names: Texts
    emails: Texts
    freemail: Bools
    role: Ints  # into catalogue.ROLES
    department: Texts
    budget: Floats  # NaN: unknown
    need: Ints  # into catalogue.NEED_MATURITIES, -1: unknown
    source: Ints  # into catalogue.LEAD_SOURCES
    anonymous_ids: Texts  # the website's cookie id of each lead

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Visitors:
    """People who browse the website and never leave their name."""

    anonymous_ids: Texts
    zone: Ints
    campaign: Ints  # into templates.CAMPAIGNS, -1: none

    def __len__(self) -> int:
        return len(self.anonymous_ids)


@dataclass(frozen=True)
class World:
    """Everyone in the simulated market."""

    accounts: Accounts
    leads: Leads
    visitors: Visitors


def build_world(rng: np.random.Generator, lead_count: int) -> World:
    """Accounts and their contacts until there are ``lead_count`` leads, plus visitors."""
    employees, contacts = _sizes(rng, lead_count)
    accounts = _accounts(rng, employees)
    leads = _leads(rng, accounts, np.repeat(np.arange(len(employees)), contacts))
    return World(accounts, leads, _visitors(rng, int(lead_count * VISITORS_PER_LEAD)))


def _sizes(rng: np.random.Generator, lead_count: int) -> tuple[Ints, Ints]:
    """Employees and contact counts of just enough accounts for ``lead_count`` contacts."""
    guess = lead_count // 2 + 16
    while True:
        size = rng.lognormal(np.log(MEDIAN_EMPLOYEES), EMPLOYEE_SPREAD, guess)
        employees = np.clip(np.rint(size), MIN_EMPLOYEES, MAX_EMPLOYEES)
        contacts = np.minimum(1 + rng.poisson(0.2 + 0.35 * np.log(employees / MIN_EMPLOYEES)), MAX_CONTACTS)
        total = np.cumsum(contacts)
        if total[-1] >= lead_count:
            break
        guess *= 2
    account_count = int(np.searchsorted(total, lead_count)) + 1
    contacts = contacts[:account_count].copy()
    contacts[-1] -= total[account_count - 1] - lead_count
    return employees[:account_count].astype(np.int64), contacts.astype(np.int64)


def _accounts(rng: np.random.Generator, employees: Ints) -> Accounts:
    count = len(employees)
    industry = choose(rng, [entry.weight for entry in cat.INDUSTRIES], count)
    country = choose(rng, [entry.weight for entry in cat.COUNTRIES], count)
    zone = _zones(rng, country)
    revenue = np.rint(employees * rng.lognormal(np.log(MEDIAN_REVENUE_PER_EMPLOYEE), 0.5, count) / 1000) * 1000
    large = employees >= cat.ENTERPRISE_EMPLOYEES
    mid_market = employees >= MID_MARKET
    has_owner = rng.random(count) < OWNER_CHANCE + OWNER_BONUS_MID_MARKET * mid_market + OWNER_BONUS_ENTERPRISE * large
    owner = np.where(has_owner, _owners(rng, large, country), -1)
    names, domains = _company_names(rng, industry, country)
    return Accounts(
        ids=texts([f"acct-{number:05d}" for number in range(1, count + 1)]),
        names=names,
        domains=domains,
        employees=employees,
        industry=industry,
        country=country,
        zone=zone,
        revenue=revenue.astype(np.int64),
        owner=owner,
        uses_competitor=rng.random(count) < COMPETITOR_CHANCE + COMPETITOR_BONUS_MID_MARKET * mid_market,
    )


def _zones(rng: np.random.Generator, country: Ints) -> Ints:
    """A time zone of each country (uniformly among a country's zones)."""
    zone_counts = np.array([len(entry.zones) for entry in cat.COUNTRIES])
    first_zone = np.concatenate([[0], np.cumsum(zone_counts)[:-1]])
    return first_zone[country] + (rng.random(len(country)) * zone_counts[country]).astype(np.int64)


def _owners(rng: np.random.Generator, large: Bools, country: Ints) -> Ints:
    """A rep of the team the example playbook routes each account to."""
    emea_fr = np.isin(
        country, [index for index, entry in enumerate(cat.COUNTRIES) if entry.code in cat.EMEA_FR_COUNTRIES]
    )
    team = np.where(large, "enterprise", np.where(emea_fr, "emea_fr", "smb"))
    owner = np.empty(len(large), dtype=np.int64)
    for name, members in cat.TEAMS.items():
        chosen = team == name
        first = cat.REPS.index(members[0])
        owner[chosen] = first + (rng.random(int(chosen.sum())) * len(members)).astype(np.int64)
    return owner


def _company_names(rng: np.random.Generator, industry: Ints, country: Ints) -> tuple[Texts, Texts]:
    """Invented names, and domains numbered when a name is taken in that country."""
    prefix = rng.integers(0, len(cat.COMPANY_PREFIXES), len(industry))
    suffix = rng.integers(0, len(cat.COMPANY_SUFFIXES), len(industry))
    names, domains = [], []
    seen: dict[str, int] = {}
    for first, second, sector, place in zip(prefix, suffix, industry, country, strict=True):
        stem = cat.COMPANY_PREFIXES[first] + cat.COMPANY_SUFFIXES[second]
        domain = f"{stem.lower()}.{cat.COUNTRIES[place].top_level_domain}"
        seen[domain] = seen.get(domain, 0) + 1
        if seen[domain] > 1:
            domain = f"{stem.lower()}{seen[domain]}.{cat.COUNTRIES[place].top_level_domain}"
        names.append(f"{stem} {cat.INDUSTRIES[sector].name_word}")
        domains.append(domain)
    return texts(names), texts(domains)


def _leads(rng: np.random.Generator, accounts: Accounts, account: Ints) -> Leads:
    count = len(account)
    employees = accounts.employees[account]
    role = _roles(rng, employees < cat.SMALL_COMPANY)
    seniority = np.array([entry.seniority for entry in cat.ROLES])[role]
    job_seeker = np.isin(role, [index for index, entry in enumerate(cat.ROLES) if entry.name in cat.JOB_SEEKER_ROLES])
    freemail_chance = FREEMAIL_CHANCE + FREEMAIL_BONUS_TINY * (employees < TINY_COMPANY)
    freemail = rng.random(count) < freemail_chance + FREEMAIL_BONUS_JOB_SEEKER * job_seeker
    first_names = texts([cat.FIRST_NAMES[index] for index in rng.integers(0, len(cat.FIRST_NAMES), count)])
    last_names = texts([cat.LAST_NAMES[index] for index in rng.integers(0, len(cat.LAST_NAMES), count)])
    budget_known = rng.random(count) < np.minimum(
        BUDGET_KNOWN_CHANCE + BUDGET_KNOWN_PER_SENIORITY * seniority, MAX_BUDGET_KNOWN
    )
    budget = MEDIAN_BUDGET * (employees / 50) ** 0.4 * seniority * rng.lognormal(0, 0.8, count)
    budget = np.maximum(np.rint(budget / BUDGET_STEP), 1) * BUDGET_STEP
    need = choose(rng, [entry.weight for entry in cat.NEED_MATURITIES], count)
    return Leads(
        ids=texts([f"lead-{number:06d}" for number in range(1, count + 1)]),
        account=account,
        first_names=first_names,
        last_names=last_names,
        emails=_emails(rng, first_names, last_names, accounts.domains[account], freemail),
        freemail=freemail,
        role=role,
        department=_departments(rng, role),
        budget=np.where(budget_known, budget, np.nan),
        need=np.where(rng.random(count) < cat.NEED_UNKNOWN_SHARE, -1, need),
        source=choose(rng, [entry.weight for entry in cat.LEAD_SOURCES], count),
        anonymous_ids=_cookie_ids(rng, count),
    )


def _roles(rng: np.random.Generator, small_company: Bools) -> Ints:
    small = choose(rng, [entry.weight_small for entry in cat.ROLES], len(small_company))
    large = choose(rng, [entry.weight_large for entry in cat.ROLES], len(small_company))
    return np.where(small_company, small, large)


def _departments(rng: np.random.Generator, role: Ints) -> Texts:
    department = texts([name for name, _ in cat.DEPARTMENTS])[choose(rng, [w for _, w in cat.DEPARTMENTS], len(role))]
    for index, entry in enumerate(cat.ROLES):
        if entry.departments:
            chosen = role == index
            own = texts([name for name, _ in entry.departments])
            department[chosen] = own[choose(rng, [w for _, w in entry.departments], int(chosen.sum()))]
    return department


def _emails(rng: np.random.Generator, first: Texts, last: Texts, domain: Texts, freemail: Bools) -> Texts:
    """``first.last@company`` (numbered when taken), or a numbered freemail address."""
    freemail_domain = rng.integers(0, len(cat.FREEMAIL_DOMAINS), len(first))
    digits = rng.integers(1, 100, len(first))
    emails = []
    taken: set[str] = set()
    for index in range(len(first)):
        local = f"{first[index]}.{last[index]}".lower()
        if freemail[index]:
            local, host = f"{local}{digits[index]}", cat.FREEMAIL_DOMAINS[freemail_domain[index]]
        else:
            host = domain[index]
        email, number = f"{local}@{host}", 1
        while email in taken:
            number += 1
            email = f"{local}{number}@{host}"
        taken.add(email)
        emails.append(email)
    return texts(emails)


def _cookie_ids(rng: np.random.Generator, count: int) -> Texts:
    """UUID-shaped anonymous ids, as a browser SDK would set them."""
    digits = rng.bytes(16 * count).hex()
    return texts(
        [
            f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"
            for d in (digits[i * 32 : i * 32 + 32] for i in range(count))
        ]
    )


def _visitors(rng: np.random.Generator, count: int) -> Visitors:
    """Anonymous visitors; some arrive from a paid campaign."""
    country = choose(rng, [entry.weight for entry in cat.COUNTRIES], count)
    paid = SOURCE_CAMPAIGN[[index for index, entry in enumerate(cat.LEAD_SOURCES) if entry.name in PAID_SOURCES]]
    campaign = np.where(rng.random(count) < PAID_VISITOR_SHARE, paid[rng.integers(0, len(paid), count)], -1)
    return Visitors(_cookie_ids(rng, count), _zones(rng, country), campaign)
