"""Signing in, for the page tests: a local account per role in the test's database, and an AppTest signed in."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from microbranch import auth, operations

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
PASSWORD = "long enough 密码 2024"


def account(db: Path, role: str, name: str | None = None) -> str:
    """An account named after its role (or `name`), made once per database."""
    name = name or role
    if name not in auth.users(db)["name"].to_list():
        operations.add_user(db, name, role, PASSWORD, operations.Actor("test"))
    return name


def sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    return at.button(key="sign_in_go").click().run()


def signed_in(db: Path, who: str | None, page: str | None = None, *, timeout: float = 60, **params: str) -> AppTest:
    """The dashboard signed in as an account of role `who` (None: no accounts, the single local user), on `page`.

    The page is asked for before the first run, as a direct link does: the sign-in form comes first, then
    the page the link named (or its refusal)."""
    name = account(db, who) if who is not None else None
    at = AppTest.from_file(DASHBOARD, default_timeout=timeout)
    at.query_params.update(params)
    if page:
        at.switch_page(page)
    at.run()
    if name is not None:
        sign_in(at, name)
    assert not at.exception, [e.value for e in at.exception]
    return at
