"""Signing in to the web app: passwords, the session cookie, CSRF, sign-out, error pages."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from leadgate.errors import UserError
from leadgate.service.users import create_user, disable_user
from leadgate.store.users_store import UsersStore
from tests.browser import PASSWORD, add_users, csrf_of, signed_in_client, signed_in_page
from tests.service_fixtures import Served, serving


@pytest.fixture
def served(tmp_path: Path):
    with serving(tmp_path / "ws", keys={}) as found:
        add_users(found)
        yield found


def test_a_password_is_stored_as_an_argon2_hash_never_as_itself(served: Served) -> None:
    with served.runtime.locked() as store:
        rows = store._run("SELECT password_hash FROM users WHERE user_name = 'carla'")
    assert rows[0][0].startswith("$argon2id$")
    assert PASSWORD not in rows[0][0]


def test_signing_in_sets_an_httponly_samesite_cookie_and_goes_home(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        token = client.get("/app/login").cookies["leadgate_login_csrf"]
        answer = client.post("/app/login", data={"user_name": "mia", "password": PASSWORD, "csrf_token": token})
        assert answer.status_code == 303 and answer.headers["location"] == "/app/"
        session_cookie = next(
            line for line in answer.headers.get_list("set-cookie") if line.startswith("leadgate_session=")
        )
        flags = {part.strip().lower() for part in session_cookie.split(";")[1:]}
        assert {"httponly", "samesite=lax", "path=/app"} <= flags
        home = client.get("/app/")
        assert home.status_code == 303 and home.headers["location"] == "/app/funnel"


def test_a_wrong_password_is_refused_without_saying_whether_the_user_exists(served: Served) -> None:
    answers = []
    for name in ("carla", "nobody"):
        with httpx.Client(base_url=served.url) as client:
            token = client.get("/app/login").cookies["leadgate_login_csrf"]
            answers.append(
                client.post("/app/login", data={"user_name": name, "password": "wrong one!", "csrf_token": token})
            )
    assert [answer.status_code for answer in answers] == [401, 401]
    assert all("unknown user name or wrong password" in answer.text for answer in answers)
    assert all("leadgate_session" not in answer.cookies for answer in answers)


def test_the_sign_in_form_needs_its_csrf_token(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        client.get("/app/login")
        answer = client.post("/app/login", data={"user_name": "carla", "password": PASSWORD, "csrf_token": "forged"})
        assert answer.status_code == 401 and "expired" in answer.text
        assert "leadgate_session" not in client.cookies


def test_a_form_without_the_sessions_csrf_token_is_refused(served: Served) -> None:
    with signed_in_client(served, "carla") as client:
        answer = client.post("/app/logout", data={"csrf_token": "not the token"})
        assert answer.status_code == 403 and "out of date" in answer.text
        assert client.get("/app/").status_code == 303  # still signed in: the forged sign-out did nothing
        assert "/login" not in client.get("/app/").headers["location"]


def test_signing_out_ends_the_session_on_the_server(served: Served) -> None:
    with signed_in_client(served, "carla") as client:
        cookie = client.cookies["leadgate_session"]
        token = csrf_of(client, "/app/no-such-page")  # every page of a signed-in user has the sign-out form
        assert client.post("/app/logout", data={"csrf_token": token}).headers["location"] == "/app/login"
        with httpx.Client(base_url=served.url, cookies={"leadgate_session": cookie}) as replay:
            answer = replay.get("/app/")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/app/login")


def test_a_visitor_without_a_session_is_sent_to_sign_in_and_back(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        answer = client.get("/app/?tab=history")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/app/login?next=/app/%3Ftab%3Dhistory"


def test_sign_in_never_sends_the_user_to_another_site(served: Served) -> None:
    with httpx.Client(base_url=served.url) as client:
        token = client.get("/app/login").cookies["leadgate_login_csrf"]
        for target in ("https://evil.example/", "//evil.example/app/", "/app\\..\\x"):
            answer = client.post(
                "/app/login", data={"user_name": "carla", "password": PASSWORD, "csrf_token": token, "next": target}
            )
            assert answer.headers["location"] == "/app/", target
            token = client.get("/app/login").cookies["leadgate_login_csrf"]


def test_an_unknown_page_is_a_404_page_not_a_problem_document(served: Served) -> None:
    with signed_in_client(served, "carla") as client:
        answer = client.get("/app/no-such-page")
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")
        assert "Not found" in answer.text and "carla" in answer.text


def test_a_disabled_user_is_signed_out_and_cannot_sign_in(served: Served) -> None:
    with signed_in_client(served, "dev") as client:
        with served.runtime.locked() as store:
            disable_user(store, "dev", served.runtime.now())
        assert client.get("/app/").headers["location"].startswith("/app/login")
        with pytest.raises(AssertionError, match="could not sign in"), signed_in_client(served, "dev"):
            pass


def test_users_are_checked_against_the_playbook(served: Served) -> None:
    playbook = served.runtime.playbook().model
    with served.runtime.locked() as store:
        with pytest.raises(UserError, match="is in no team"):
            create_user(store, playbook, "zoe", "sales", None, PASSWORD, served.runtime.now())
        with pytest.raises(UserError, match="at least 8"):
            create_user(store, playbook, "gus", "sales", None, "short", served.runtime.now())
        with pytest.raises(UserError, match="exists"):
            create_user(store, playbook, "carla", "sales", None, PASSWORD, served.runtime.now())
        with pytest.raises(UserError, match="ingest role"):
            create_user(store, playbook, "bot", "ingest", None, PASSWORD, served.runtime.now())
        assert [user.user_name for user in UsersStore(store).all()] == ["ada", "carla", "dev", "erin", "farah", "mia"]


def test_the_sign_in_page_in_a_browser_is_labelled_and_works_with_the_keyboard(
    browser: Browser, served: Served
) -> None:
    context = browser.new_context(base_url=served.url)
    page = context.new_page()
    page.goto("/app/")
    expect(page).to_have_url(f"{served.url}/app/login?next=/app/")
    page.get_by_label("User name").fill("carla")
    page.get_by_label("Password").fill("wrong password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("unknown user name or wrong password")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.get_by_text("carla · sales")).to_be_visible()
    context.close()
    with signed_in_page(browser, served, "mia") as marketer:
        expect(marketer.get_by_role("button", name="Sign out")).to_be_visible()
