"""Who the simulated companies and people are: the reference lists and their weights.

Each entry carries how common it is (``weight``) and how much it adds to a lead's hidden
propensity to buy (``fit``, on the log-odds scale). The lists follow the example playbook
(target industries, core countries, decision makers, freemail domains, sales teams) so that
its rules meet the situations they were written for.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Industry:
    """A sector companies are in."""

    name: str
    weight: float
    fit: float
    name_word: str  # the last word of a company name in this industry


@dataclass(frozen=True)
class Country:
    """Where a company is, and the time zones its people work in."""

    code: str
    weight: float
    zones: tuple[str, ...]
    top_level_domain: str
    core: bool  # in the example playbook's core countries


@dataclass(frozen=True)
class Role:
    """What a contact does, and where in a company."""

    name: str
    weight_small: float  # how common in a company under SMALL_COMPANY employees
    weight_large: float
    fit: float
    seniority: float  # scales the budget a person of this role controls
    departments: tuple[tuple[str, float], ...] = ()  # empty: any department


@dataclass(frozen=True)
class Maturity:
    """How far a contact's need has come (``need_maturity``)."""

    name: str
    weight: float
    fit: float


@dataclass(frozen=True)
class Utm:
    """A campaign's UTM fields, as a tracker reports them in ``context.campaign``."""

    source: str
    medium: str
    campaign: str


@dataclass(frozen=True)
class LeadSource:
    """How a lead first came to us."""

    name: str
    weight: float
    fit: float
    utm: Utm | None
    web: bool  # found us on the web (browses before filling a form), not met in person


INDUSTRIES = (
    Industry("Software", 0.20, 0.5, "Labs"),
    Industry("Fintech", 0.08, 0.5, "Pay"),
    Industry("Insurance", 0.07, 0.4, "Assurance"),
    Industry("Retail", 0.12, 0.0, "Stores"),
    Industry("Manufacturing", 0.13, -0.1, "Industries"),
    Industry("Healthcare", 0.10, 0.1, "Health"),
    Industry("Education", 0.07, -0.5, "Academy"),
    Industry("Media", 0.06, -0.1, "Media"),
    Industry("Logistics", 0.07, 0.0, "Logistics"),
    Industry("Consulting", 0.06, -0.2, "Partners"),
    Industry("Public Sector", 0.04, -0.6, "Agency"),
)

COUNTRIES = (
    Country("FR", 0.20, ("Europe/Paris",), "fr", True),
    Country("DE", 0.13, ("Europe/Berlin",), "de", True),
    Country("UK", 0.12, ("Europe/London",), "co.uk", True),
    Country("US", 0.15, ("America/New_York", "America/Chicago", "America/Los_Angeles"), "com", True),
    Country("BE", 0.05, ("Europe/Brussels",), "be", True),
    Country("CH", 0.04, ("Europe/Zurich",), "ch", True),
    Country("ES", 0.06, ("Europe/Madrid",), "es", False),
    Country("IT", 0.06, ("Europe/Rome",), "it", False),
    Country("NL", 0.06, ("Europe/Amsterdam",), "nl", False),
    Country("BR", 0.05, ("America/Sao_Paulo",), "com.br", False),
    Country("IN", 0.05, ("Asia/Kolkata",), "in", False),
    Country("CA", 0.03, ("America/Toronto",), "ca", False),
)
ZONES = tuple(zone for country in COUNTRIES for zone in country.zones)
WEBINAR_ZONE = "Europe/Paris"

SMALL_COMPANY = 50
_ENGINEERING = (("Engineering", 0.7), ("IT", 0.3))
ROLES = (
    Role("CEO", 0.14, 0.02, 0.5, 3.0, (("Executive", 1.0),)),
    Role("CTO", 0.08, 0.04, 0.8, 2.5, (("Engineering", 1.0),)),
    Role("CFO", 0.03, 0.02, 0.5, 2.5, (("Finance", 1.0),)),
    Role("VP", 0.03, 0.06, 0.9, 2.5),
    Role("Director", 0.05, 0.09, 0.8, 2.0),
    Role("Head", 0.07, 0.09, 0.7, 1.8),
    Role("Manager", 0.12, 0.16, 0.4, 1.2),
    Role("Lead", 0.07, 0.08, 0.3, 1.0),
    Role("Engineer", 0.09, 0.10, 0.0, 0.5, _ENGINEERING),
    Role("Analyst", 0.07, 0.09, 0.0, 0.5, (("Data", 0.5), ("Finance", 0.25), ("Marketing", 0.25))),
    Role("Developer", 0.09, 0.08, -0.1, 0.4, _ENGINEERING),
    Role("Consultant", 0.07, 0.07, -0.3, 0.6),
    Role("Student", 0.05, 0.06, -2.5, 0.1),
    Role("Intern", 0.04, 0.04, -2.0, 0.1),
)
JOB_SEEKER_ROLES = ("Student", "Intern")
PRODUCT_MINDED_ROLES = ("Engineer", "Developer", "Analyst", "Lead", "CTO")
DEPARTMENTS = (
    ("Sales", 0.20),
    ("Marketing", 0.24),
    ("Operations", 0.14),
    ("Finance", 0.10),
    ("IT", 0.10),
    ("Data", 0.08),
    ("Product", 0.06),
    ("HR", 0.04),
    ("Engineering", 0.02),
    ("Executive", 0.02),
)

NEED_MATURITIES = (
    Maturity("none", 0.18, -1.0),
    Maturity("exploring", 0.37, 0.0),
    Maturity("evaluating", 0.25, 0.5),
    Maturity("project_planned", 0.20, 1.0),
)
NEED_UNKNOWN_SHARE = 0.25

LEAD_SOURCES = (
    LeadSource("organic", 0.30, 0.0, None, True),
    LeadSource("paid_search", 0.20, 0.0, Utm("google", "cpc", "search-lead-scoring"), True),
    LeadSource("linkedin", 0.15, 0.1, Utm("linkedin", "paid_social", "abm-revops"), True),
    LeadSource("webinar", 0.12, 0.2, Utm("newsletter", "email", "webinar-invite"), True),
    LeadSource("partner", 0.10, 0.4, Utm("partner-portal", "referral", "partner-program"), False),
    LeadSource("event", 0.13, 0.2, Utm("event-followup", "email", "trade-show-booth"), False),
)

FREEMAIL_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "orange.fr", "free.fr")

# The example playbook's teams, and the routing it uses to pick the team of an account.
ENTERPRISE_EMPLOYEES = 1000
TEAMS = {
    "enterprise": ("carla", "dev"),
    "emea_fr": ("alice", "bruno"),
    "smb": ("farah", "gus", "hana"),
}
EMEA_FR_COUNTRIES = ("FR", "BE", "CH")
REPS = tuple(rep for members in TEAMS.values() for rep in members)

COMPANY_PREFIXES = (
    "Blue", "North", "Bright", "Iron", "Silver", "Green", "Red", "Swift", "Clear", "Nova",
    "Alpine", "Harbor", "Summit", "Atlas", "Cedar", "Orbit", "Pixel", "Quantum", "River", "Stone",
    "Golden", "Polar", "Vertex", "Lumen", "Echo",
)  # fmt: skip
COMPANY_SUFFIXES = (
    "wave", "peak", "field", "stack", "works", "bridge", "line", "gate", "forge", "point",
    "mark", "loop", "scale", "path", "light", "core", "nest", "shore", "grid", "spring",
)  # fmt: skip
FIRST_NAMES = (
    "Alice", "Bruno", "Chloe", "David", "Emma", "Felix", "Giulia", "Hugo", "Ines", "Jonas",
    "Karim", "Laura", "Marco", "Nina", "Oscar", "Paula", "Quentin", "Rosa", "Samir", "Tara",
    "Ugo", "Vera", "William", "Xavier", "Yasmin", "Zoe", "Anna", "Ben", "Camille", "Diego",
    "Elena", "Finn", "Greta", "Hannah", "Igor", "Julia", "Kofi", "Lena", "Mateo", "Noah",
    "Olivia", "Pedro", "Priya", "Rahul", "Sofia", "Thomas", "Lucas", "Mia", "Arjun", "Sarah",
    "James", "Marie", "Lukas", "Chiara", "Joao", "Ana", "Pierre", "Sophie", "Daan", "Fleur",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Muller", "Schmidt", "Schneider", "Fischer",
    "Weber", "Smith", "Jones", "Taylor", "Brown", "Wilson", "Johnson", "Williams", "Garcia", "Miller",
    "Davis", "Peeters", "Janssens", "Maes", "Meier", "Keller", "Huber", "Rossi", "Russo", "Ferrari",
    "Esposito", "Romano", "Fernandez", "Lopez", "Martinez", "Sanchez", "DeVries", "VanDijk", "Bakker",
    "Visser", "Silva", "Santos", "Oliveira", "Souza", "Sharma", "Patel", "Singh", "Kumar", "Gupta",
    "Tremblay", "Roy", "Gagnon", "Nguyen", "Leroy", "Petit", "Roux", "Fontaine", "Hoffmann", "Wagner",
    "Becker", "Costa",
)  # fmt: skip
