"""New passwords must be long and hard to guess, and a refusal says why (finding 5)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.web.conftest import PASSWORD, TestClient, csrf_of, empty_app, sign_in
from typer.testing import CliRunner

import revteam
from revteam.app import open_app
from revteam.app.credentials import check_policy, random_password
from revteam.cli import app as cli
from revteam.exceptions import PasswordPolicyError


def refusal(password: str, *, email: str = "ann@example.com", name: str = "Ann") -> str:
    with pytest.raises(PasswordPolicyError) as refused:
        check_policy(password, email=email, name=name)
    return str(refused.value)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Password123!", "similar to a commonly used password"),
        ("Summer2024!", "similar to a commonly used password"),
        ("qwertyuiop12", "on a list of commonly used passwords"),
        ("aaaaaaaaaaaaaaaa", 'repeats like "aaa" are easy to guess'),
        ("abcdefghijklmn", 'sequences like "abc" or "6543" are easy to guess'),
    ],
)
def test_common_and_guessable_passwords_are_refused_with_the_reason(password, reason):
    message = refusal(password)
    assert message.startswith("Password refused: ") and reason in message
    assert "Add another word or two" in message or "commonly used passwords" in message


def test_every_problem_is_reported_at_once():
    message = refusal("Summer2024!")
    assert "it has 11 characters, fewer than 12; this is similar to a commonly used" in message


def test_at_least_twelve_characters_even_when_random():
    assert "fewer than 12" in refusal("Xq7#mZ2!pLw")
    check_policy("Xq7#mZ2!pLw9", email="ann@example.com")


def test_the_users_name_and_email_count_against_a_password():
    check_policy("Thornbury1987!", email="ann@example.com", name="Ann Smith")
    message = refusal("Thornbury1987!", email="mt@example.com", name="Margaret Thornbury")
    assert "easy to guess from the user's name or e-mail" in message
    assert "contains the user's e-mail name" in refusal("jonathan-2025!", email="jonathan@x.org")
    assert "easy to guess from the user's name" in refusal(
        "acmewidgets2024", email="m@acmewidgets.com"
    )


def test_generated_passwords_pass():
    for _ in range(200):
        check_policy(random_password(), email="ann@example.com", name="Ann Smith")


def test_parallel_checks_keep_their_own_user_inputs():
    """zxcvbn keeps user inputs in a module global; checks in parallel must not mix them."""

    def verdict(i: int) -> bool:
        name = "Margaret Thornbury" if i % 2 else "Ann Smith"
        try:
            check_policy("Thornbury1987!", email="x@example.com", name=name)
        except PasswordPolicyError:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(verdict, range(200))) == [i % 2 == 0 for i in range(200)]


def test_weak_passwords_are_refused_by_add_reset_and_change(tmp_path: Path):
    with revteam.init(tmp_path / "ws"):
        pass
    with open_app(tmp_path / "ws") as app:
        with pytest.raises(PasswordPolicyError, match="commonly used"):
            app.users.add("ann@example.com", password="Password123!")
        user, _ = app.users.add("ann@example.com", password=PASSWORD)
        with pytest.raises(PasswordPolicyError, match="commonly used"):
            app.users.reset_password(user.id, "Summer2024!")
        with pytest.raises(PasswordPolicyError, match="commonly used"):
            app.users.change_password(user.id, PASSWORD, "Password123!")
        assert app.users.authenticate("ann@example.com", PASSWORD).id == user.id


def test_weak_passwords_are_refused_over_the_api_the_web_and_the_cli(tmp_path: Path):
    app, members = empty_app(tmp_path)
    with TestClient(app, headers=members["admin"].bearer) as admin:
        r = admin.post(
            "/api/v1/users", json={"email": "new@example.com", "password": "Password123!"}
        )
        assert r.status_code == 400 and r.json()["error"] == "password_policy"
        assert "similar to a commonly used password" in r.json()["message"]
    with TestClient(app) as browser:
        sign_in(browser, members["viewer"].email)
        page = browser.get("/account").text
        r = browser.post(
            "/account/password",
            data={"current": PASSWORD, "new": "Summer2024!", "csrf_token": csrf_of(page)},
        )
        assert r.status_code == 400 and "fewer than 12" in r.text and "commonly used" in r.text
    workspace = ["-w", str(tmp_path / "ws")]
    for args in (["add", "new@example.com"], ["reset-password", members["viewer"].email]):
        result = CliRunner().invoke(
            cli, [*workspace, "users", *args, "--password-stdin"], input="Password123!\n"
        )
        assert result.exit_code == 2 and "commonly used password" in result.output
