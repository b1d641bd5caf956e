"""Who may see what: every role x every page signed in through the form, the official's view without a single
pseudonym and with small reader counts suppressed, sign-in and its lockout, the single-user mode, the audit trail.

The data set is the hand-made one of test_queries_circulation plus one checkout at M2 by a reader seen nowhere
else, so one branch has exactly one reader in the period: the count an official must not see."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from microbranch import audit, auth, queries, store
from microbranch.i18n import t
from tests.accounts import DASHBOARD, PASSWORD, account, sign_in, signed_in
from tests.conftest import load
from tests.test_queries_circulation import build

PSEUDONYM = re.compile(r"R[0-9a-f]{20}")
ONE_READER = """流水号,操作时间,操作类型,条码号,读者证号,转出读者证号,操作馆
E30,2024-05-06 10:00:00,借出,I5,r9,,M2
"""
PAGES = ("overview", "loans", "chains", "stock", "readers", "branch_map", "residents", "scorecards", "report", "upload",
         "audit", "glossary")
MAY_OPEN = {
    "staff": set(PAGES),
    "manager": set(PAGES) - {"upload", "audit"},
    "official": set(PAGES) - {"upload", "audit", "stock"},
}
# headings of reader counts, in Chinese (the tests' language)
READER_COUNT_HEADINGS = {t(k, "zh") for k in ("active_readers", "circ_col_active_readers", "places_readers",
                                              "new_readers", "circ_col_new_readers") if t(k, "zh") != k}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(tmp_path / "secret" / "microbranch.key"))
    path = build(tmp_path)
    load(path, tmp_path, "one_reader.csv", ONE_READER)
    monkeypatch.setenv("MICROBRANCH_DB", str(path))
    return path


def texts(at: AppTest) -> list[str]:
    """Every text an element shows: headings, captions, markdown, alerts, card labels and values, table cells
    and headings, and the data of every chart."""
    out = [e.value for kind in ("title", "header", "subheader", "caption", "markdown", "info", "warning", "error",
                                "success", "text") for e in at.get(kind)]
    out += [f"{m.label} {m.value} {m.delta}" for m in at.metric]
    for d in at.dataframe:
        frame = d.value
        out += [str(c) for c in frame.columns] + [str(v) for v in frame.astype(str).to_numpy().ravel()]
    out += [str(c.proto) for c in at.get("plotly_chart")]
    return out


# --- the matrix: every role x every page ---

@pytest.mark.parametrize("role", list(MAY_OPEN))
@pytest.mark.parametrize("name", PAGES)
def test_every_role_on_every_page(db, role, name):
    at = signed_in(db, role, f"app_pages/{name}.py", **{"to": "2024-05-08"})
    listed = {p.value for p in at.get("page_link")}
    refused = [w.value for w in at.warning if "无权打开" in w.value]
    if name in MAY_OPEN[role]:
        assert not refused, refused
        assert at.title[0].value == t(f"page_{name}", "zh")
        assert t(f"page_{name}", "zh") in listed
    else:  # a direct link: a polite refusal that names the page and the role needed; not in the navigation
        needed = "、".join(t(f"role_{r}", "zh") for r in ("staff", "manager") if name in MAY_OPEN[r])
        assert refused == [t("access_refused", "zh").format(page=t(f"page_{name}", "zh"),
                                                             role=t(f"role_{role}", "zh"), needed=needed)]
        assert t(f"page_{name}", "zh") not in listed
        assert not at.dataframe and not at.file_uploader and not at.get("plotly_chart")
    assert listed == {t(f"page_{p}", "zh") for p in MAY_OPEN[role]}


@pytest.mark.parametrize("name", sorted(MAY_OPEN["official"]))
def test_the_official_sees_no_pseudonym_and_no_small_reader_count(db, name):
    con = store.reader(db)
    m2 = queries.run(con, "loans_by_branch").filter(pl.col("branch_id") == "M2")
    con.close()
    assert m2["active_readers"].to_list() == [1]  # the data set has a branch with a single reader
    at = signed_in(db, "official", f"app_pages/{name}.py")
    shown = texts(at)
    assert not [s for s in shown if PSEUDONYM.search(s)]
    for d in at.dataframe:  # every breakdown of readers: no count from 1 to 9
        for heading in set(d.value.columns) & READER_COUNT_HEADINGS:
            values = d.value[heading].tolist()
            assert not [v for v in values if isinstance(v, int | float) and 1 <= v <= 9], (heading, values)
    for m in at.metric:
        if m.label in READER_COUNT_HEADINGS:
            assert m.value not in [str(n) for n in range(1, 10)], (m.label, m.value)


def test_the_manager_sees_the_same_table_with_pseudonyms_and_small_counts(db):
    at = signed_in(db, "manager", "app_pages/chains.py")
    assert [s for s in texts(at) if PSEUDONYM.search(s)]
    at = signed_in(db, "manager", "app_pages/overview.py", **{"from": "2024-04-01", "to": "2024-05-08"})
    table = next(d.value for d in at.dataframe if "活跃读者" in d.value.columns)
    assert 1 in table["活跃读者"].tolist()
    at = signed_in(db, "official", "app_pages/overview.py", **{"from": "2024-04-01", "to": "2024-05-08"})
    table = next(d.value for d in at.dataframe if "活跃读者" in d.value.columns)
    assert "<10" in table["活跃读者"].tolist() and 1 not in table["活跃读者"].tolist()


# --- sign-in ---

def test_passwords_are_stored_as_argon2id(db):
    account(db, "staff")
    with audit.connect(db) as con:
        hashed = con.sql("select hash from users where name = 'staff'").fetchall()[0][0]
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert oct(audit.access_file(db).stat().st_mode & 0o777) == "0o600"


def test_wrong_password_then_lockout_and_its_end(db):
    account(db, "manager")
    now = datetime(2024, 6, 1, 9, 0)
    for _ in range(auth.MAX_FAILURES - 1):
        assert auth.sign_in("manager", "wrong", db=db, now=now) == auth.SignIn(None, "wrong")
    assert auth.sign_in("manager", "wrong", db=db, now=now).refused == "locked"
    # locked: even the right password is refused, until the lock ends
    assert auth.sign_in("manager", PASSWORD, db=db, now=now + timedelta(minutes=1)).refused == "locked"
    later = now + timedelta(minutes=auth.LOCK_MINUTES, seconds=1)
    assert auth.sign_in("manager", PASSWORD, db=db, now=later).role == "manager"
    # a name that does not exist is answered and locked the same way
    answers = [auth.sign_in("nobody", "wrong", db=db, now=now) for _ in range(auth.MAX_FAILURES)]
    assert [a.refused for a in answers] == ["wrong"] * (auth.MAX_FAILURES - 1) + ["locked"]
    actions = audit.trail(db)["action"].to_list()
    assert actions.count("lockout") == 2 and actions.count("sign_in") == 1
    assert actions.count("sign_in_failed") == 2 * auth.MAX_FAILURES + 1  # the try while locked counts too


def test_the_form_says_wrong_and_locked_without_telling_which_names_exist(db):
    account(db, "staff")
    at = AppTest.from_file(DASHBOARD, default_timeout=60).run()
    sign_in(at, "staff", "not the password")
    assert [e.value for e in at.error] == [t("access_wrong", "zh")]
    sign_in(at, "nobody", "not the password")
    assert [e.value for e in at.error] == [t("access_wrong", "zh")]
    for _ in range(auth.MAX_FAILURES):
        sign_in(at, "staff", "not the password")
    locked = t("access_locked", "zh").format(tries=auth.MAX_FAILURES, minutes=auth.LOCK_MINUTES)
    assert [e.value for e in at.error] == [locked]
    sign_in(at, "staff", PASSWORD)  # the right password during the lock
    assert [e.value for e in at.error] == [locked] and not at.get("page_link")


def test_a_disabled_account_cannot_sign_in_until_it_has_a_new_password(db):
    account(db, "official")
    auth.disable("official", db=db, by="test")
    at = AppTest.from_file(DASHBOARD, default_timeout=60).run()
    sign_in(at, "official")
    assert [e.value for e in at.error] == [t("access_wrong", "zh")] and not at.get("page_link")
    auth.set_password("official", PASSWORD, db=db, by="test")
    sign_in(at, "official")
    assert not at.error and at.get("page_link")
    actions = audit.trail(db)["action"].to_list()
    assert {"user_add", "user_disable", "user_passwd", "sign_in_failed", "sign_in"} <= set(actions)


def test_an_idle_session_expires(db, monkeypatch):
    monkeypatch.setenv("MICROBRANCH_IDLE_MINUTES", "20")
    at = signed_in(db, "manager")
    assert at.get("page_link")
    at.session_state["_viewer_seen"] = time.time() - 19 * 60  # used 19 minutes ago: still signed in
    at.run()
    assert at.get("page_link")
    at.session_state["_viewer_seen"] = time.time() - 21 * 60
    at.run()
    assert not at.get("page_link") and at.text_input(key="sign_in_name")
    assert at.info[0].value == t("access_expired", "zh").format(minutes="20")
    assert audit.trail(db, "sign_out")["detail"].to_list() == ["idle"]


def test_sign_out(db):
    at = signed_in(db, "staff")
    at.button(key="sign_out").click().run()
    assert not at.get("page_link") and at.text_input(key="sign_in_name")
    assert audit.trail(db, "sign_out")["user_name"].to_list() == ["staff"]


def test_without_accounts_one_local_user_with_a_banner_on_every_page(db):
    for name in PAGES:
        at = signed_in(db, None, f"app_pages/{name}.py")
        assert at.info[0].value == t("access_single_banner", "zh"), name
        assert not [w for w in at.warning if "无权打开" in w.value], name


def test_without_accounts_a_server_open_to_the_network_refuses(db):
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        at = AppTest.from_file(DASHBOARD, default_timeout=60).run()
    finally:
        config.set_option("server.address", before)
    assert not at.get("page_link") and not at.metric
    assert at.error[0].value == t("access_single_network", "zh").format(address="0.0.0.0")


def test_a_role_in_the_url_is_ignored_and_dropped(db):
    at = signed_in(db, "official", "app_pages/upload.py", role="staff")
    assert not at.file_uploader
    assert any("无权打开" in w.value for w in at.warning)
    assert "role" not in at.query_params
    at = signed_in(db, "official", "app_pages/chains.py", role="manager")
    assert not [s for s in texts(at) if PSEUDONYM.search(s)]


# --- downloads and the audit ---

def test_a_download_of_reader_level_rows_is_audited(db):
    at = signed_in(db, "manager", "app_pages/chains.py")
    at.download_button(key="dl_chains_adrift.csv").click().run()
    at.download_button(key="dl_chains_longest.csv").click().run()  # no pseudonyms in it: not audited
    rows = audit.trail(db, "download")
    assert rows["user_name"].to_list() == ["manager"]
    assert rows["detail"][0].startswith("chains_adrift.csv")


def test_staff_read_the_audit_trail_on_its_page(db):
    at = signed_in(db, "staff", "app_pages/audit.py")
    trail = next(d.value for d in at.dataframe if "操作" in d.value.columns)
    assert trail["操作"].tolist()[0] == t("access_action_sign_in", "zh") and trail["用户"].tolist()[0] == "staff"
    assert at.download_button(key="dl_audit.csv")


# --- the app's database connection ---

@pytest.mark.parametrize("sql", [
    "select * from read_csv('/etc/passwd')",
    "select * from read_text('/etc/passwd')",
    "copy (select 1 as a) to '{tmp}/x.csv'",
    "attach '{tmp}/other.duckdb' as other",
    "set enable_external_access = true",
])
def test_the_apps_connection_reaches_no_other_file(db, tmp_path, sql):
    from ui import data

    con = data._connection(db.resolve(), store.current_version(db)).cursor()
    with pytest.raises(Exception, match="disabled by configuration|Cannot change configuration|Permission"):
        con.sql(sql.format(tmp=tmp_path)).fetchall()
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "other.duckdb").exists()
    assert con.sql("select count(*) from events").fetchall()[0][0] > 0  # its own data it reads


def test_a_csv_download_neutralises_formulas_in_titles_and_headings():
    from ui.kit import safe_csv

    frame = pl.DataFrame({"title": ['=HYPERLINK("http://x","y")', "+1", "plain"], "=cmd": ["@a", "-2", "\tb"]})
    rows = list(csv.reader(io.StringIO(safe_csv(frame).decode("utf-8-sig"))))
    assert rows == [["title", "'=cmd"], ["'=HYPERLINK(\"http://x\",\"y\")", "'@a"], ["'+1", "'-2"], ["plain", "'\tb"]]


def test_retention_deletes_old_events_with_their_rejects_and_is_audited(db):
    from microbranch import retention

    con = store.reader(db)
    total = con.sql("select count(*) from events").fetchall()[0][0]
    old = con.sql("select count(*) from events where occurred_at < '2024-05-01'").fetchall()[0][0]
    con.close()
    assert 0 < old < total
    events, _ = retention.apply(db, 1, user="test", now=datetime(2025, 5, 1))
    con = store.reader(db)
    assert events == old
    assert con.sql("select count(*) from events").fetchall()[0][0] == total - old
    assert con.sql("select min(occurred_at) from events").fetchall()[0][0] >= datetime(2024, 5, 1)
    con.close()
    assert audit.trail(db, "retention")["user_name"].to_list() == ["test"]
