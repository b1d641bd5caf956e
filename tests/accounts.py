"""Signing in, for the page tests: a local account per role in the test's database, and an AppTest signed in.

AppTest has no browser, so no cookie: `signed_in` starts a real session in the store and puts its id where the
page tests' stand-in for the cookie reads it (`cookie_from_session_state` in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from microbranch import auth, operations, sessions

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
PASSWORD = "long enough 密码 2024"
TOKEN = "_test_session_token"  # the session_state key standing in for the browser's cookie
# The pages' boxes whose tables are made and sent only when opened (st.expander with on_change="rerun").
BOXES = ("overview_table_box", "loans_table_box", "pairs_box", "turnover_box", "new_readers_box", "stock_table_box",
         "dead_items_box")


def account(db: Path, role: str, name: str | None = None) -> str:
    """An account named after its role (or `name`), made once per database."""
    name = name or role
    if name not in auth.users(db)["name"].to_list():
        operations.add_user(db, name, role, PASSWORD, operations.Actor("test"))
    return name


def signed_in(db: Path, who: str | None, page: str | None = None, *, timeout: float = 60, opened: bool = True,
              **params: str) -> AppTest:
    """The dashboard signed in as an account of role `who` (None: no accounts, the single local user), on `page`,
    with every box of tables open (`BOXES`) unless not `opened`, so the tests see every table the page can show.

    The page is asked for before the first run, as a direct link does."""
    at = AppTest.from_file(DASHBOARD, default_timeout=timeout)
    for key in BOXES if opened else ():
        at.session_state[key] = True
    if who is not None:
        name = account(db, who)
        at.session_state[TOKEN] = sessions.start(name, who, db=db)
    at.query_params.update(params)
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_tab(at: AppTest, key: str, label: str) -> AppTest:
    """Open a page's tab (those whose sections run only when open) as a click on it does, and run the page again."""
    at.session_state[key] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
