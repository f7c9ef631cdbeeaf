"""The web app's test kit: users over the example playbook, a signed-in page in a real browser.

The browser is Debian's chromium driven by Playwright (``make test`` installs the package when
it is missing; Playwright never downloads a browser). One browser per test run; each user gets
a fresh browser context, so two users are two people with their own cookies.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from playwright.sync_api import Browser, Page, Playwright

from leadgate.service.users import create_user
from tests.service_fixtures import Served

PASSWORD = "correct horse battery"

# name -> (role, team): over the example playbook's teams (enterprise: carla, dev; emea_fr: alice,
# bruno; both managed by erin; smb: farah, gus, hana, managed by ines).
STANDARD_USERS: dict[str, tuple[str, str | None]] = {
    "carla": ("sales", None),
    "dev": ("sales", None),
    "farah": ("sales", None),
    "erin": ("manager", None),
    "mia": ("marketing", None),
    "ada": ("admin", None),
}


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("no chromium on PATH: 'make test' installs Debian's chromium package")
    return found


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True)


def add_users(served: Served, users: dict[str, tuple[str, str | None]] | None = None) -> None:
    """Create the users on the served workspace, all with :data:`PASSWORD`."""
    runtime = served.runtime
    playbook = runtime.playbook().model
    with runtime.locked() as store:
        for name, (role, team) in (STANDARD_USERS if users is None else users).items():
            create_user(store, playbook, name, role, team, PASSWORD, runtime.now())


@contextmanager
def signed_in_page(browser: Browser, served: Served, name: str, password: str = PASSWORD) -> Iterator[Page]:
    """A page of a fresh browser context, signed in as ``name``."""
    context = browser.new_context(base_url=served.url)
    page = context.new_page()
    try:
        page.goto("/app/login")
        page.get_by_label("User name").fill(name)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        if "/app/login" in page.url:
            raise AssertionError(f"{name} could not sign in: {page.inner_text('main')}")
        yield page
    finally:
        context.close()


@contextmanager
def signed_in_client(served: Served, name: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    """An HTTP client holding ``name``'s session cookie (for checks a browser hides: statuses, headers)."""
    with httpx.Client(base_url=served.url, timeout=30) as client:
        token = client.get("/app/login").cookies["leadgate_login_csrf"]
        answer = client.post("/app/login", data={"user_name": name, "password": password, "csrf_token": token})
        if answer.status_code != 303:
            raise AssertionError(f"{name} could not sign in: {answer.status_code} {answer.text[:200]}")
        yield client


def csrf_of(client: httpx.Client, path: str) -> str:
    """The CSRF token in the forms of a page."""
    page = client.get(path).text
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]
