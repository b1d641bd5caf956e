"""Who may see what: every role x every page signed in through the form, the official's view without a single
pseudonym and with small reader counts suppressed, sign-in and its lockout, the single-user mode, the audit trail.

The data set is the hand-made one of test_queries_circulation plus one checkout at M2 by a reader seen nowhere
else, so one branch has exactly one reader in the period: the count an official must not see."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from microbranch import audit, auth, operations, queries, sessions, storage
from microbranch.i18n import t
from tests.accounts import DASHBOARD, PASSWORD, TOKEN, account, signed_in
from tests.conftest import load
from tests.test_queries_circulation import build

PSEUDONYM = re.compile(r"R[0-9a-f]{20}")
ONE_READER = """流水号,操作时间,操作类型,条码号,读者证号,转出读者证号,操作馆
E30,2024-05-06 10:00:00,借出,I5,r9,,M2
"""
PAGES = ("overview", "loans", "chains", "stock", "readers", "branch_map", "residents", "scorecards", "report", "upload",
         "audit", "glossary", "branch")
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
    con = storage.reader(db)
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


def test_failed_sign_ins_wait_longer_each_time_per_name_and_per_address(db):
    account(db, "manager")
    now = datetime(2024, 6, 1, 9, 0)
    answers = [auth.sign_in("manager", "wrong", "10.0.0.7", db=db, now=now + timedelta(minutes=i)) for i in range(6)]
    assert [(a.refused, a.seconds) for a in answers] == [("wrong", 0), ("wrong", 0), ("wrong", 1), ("wrong", 2),
                                                          ("wrong", 4), ("wrong", 8)]
    # within the wait even the right password is refused unchecked; after it, it is accepted
    soon = now + timedelta(minutes=5, seconds=3)
    assert auth.sign_in("manager", PASSWORD, "10.0.0.8", db=db, now=soon) == auth.SignIn(None, "wait", 5)
    assert auth.sign_in("manager", PASSWORD, "10.0.0.8", db=db, now=soon + timedelta(seconds=5)).role == "manager"
    # a name's wait is capped: a stranger cannot keep its owner out for long
    for i in range(20):
        auth.sign_in("manager", "wrong", f"10.1.0.{i}", db=db, now=now + timedelta(hours=2, minutes=i))
    assert auth.sign_in("manager", "wrong", "10.2.0.1", db=db, now=now + timedelta(hours=2, minutes=20)).seconds \
        == auth.NAME_WAIT_CAP
    # one address trying many names (known or not) waits longer and longer, up to its own cap
    later = now + timedelta(hours=5)
    waits = [auth.sign_in(f"guess{i}", "wrong", "10.9.9.9", db=db, now=later + timedelta(hours=i / 4)).seconds
             for i in range(16)]
    assert waits[:3] == [0, 0, 1] and waits == sorted(waits) and waits[-1] == auth.ADDRESS_WAIT_CAP
    actions = audit.trail(db)["action"].to_list()
    assert "lockout" in actions and actions.count("sign_in") == 1


def test_a_disabled_account_cannot_sign_in_until_it_has_a_new_password(db):
    account(db, "official")
    operations.disable_user(db, "official", operations.Actor("test"))
    assert auth.sign_in("official", PASSWORD, db=db) == auth.SignIn(None, "wrong")
    operations.set_password(db, "official", PASSWORD, operations.Actor("test"))
    assert auth.sign_in("official", PASSWORD, db=db).role == "official"
    actions = audit.trail(db)["action"].to_list()
    assert {"user_add", "user_disable", "user_passwd", "sign_in_failed", "sign_in"} <= set(actions)


def _next_click(at: AppTest) -> AppTest:
    """The tab's next interaction, once the few seconds the session check is trusted have passed."""
    sessions.forget_all()
    return at.run()


@pytest.mark.parametrize("change", ["disable", "passwd", "role", "signout"])
def test_a_change_to_the_account_ends_its_open_session_at_the_next_click(db, change):
    at = signed_in(db, "staff", "app_pages/upload.py")
    assert at.file_uploader
    {"disable": lambda: operations.disable_user(db, "staff", operations.Actor("test")),
     "passwd": lambda: operations.set_password(db, "staff", "another long password", operations.Actor("test")),
     "role": lambda: operations.set_role(db, "staff", "manager", operations.Actor("test")),
     "signout": lambda: sessions.end_user("staff", db, "test")}[change]()
    _next_click(at)
    assert not at.file_uploader and not at.get("page_link") and not at.metric
    assert at.info[0].value == t("sessions_ended", "zh").format(minutes="30")
    assert at.get("link_button")[0].proto.url == "/signin?next=%2Fupload"
    assert sessions.listing(db).is_empty()


def test_an_idle_session_ends_and_so_does_one_past_its_lifetime(db):
    name = account(db, "manager")
    began = datetime(2024, 6, 1, 9, 0)
    token = sessions.start(name, "manager", "10.0.0.7", "Firefox", db=db, now=began)
    assert sessions.check(token, db, idle_minutes=20, now=began + timedelta(minutes=19)).name == "manager"
    assert sessions.check(token, db, idle_minutes=20, now=began + timedelta(minutes=38)) is not None  # used at 19
    assert sessions.check(token, db, idle_minutes=20, now=began + timedelta(minutes=59)) is None
    assert audit.trail(db, "sign_out")["detail"].to_list() == ["idle"]
    token = sessions.start(name, "manager", db=db, now=began)
    for minutes in range(0, sessions.LIFETIME_HOURS * 60, 15):  # used every quarter hour, never idle
        assert sessions.check(token, db, now=began + timedelta(minutes=minutes)) is not None
    assert sessions.check(token, db, now=began + timedelta(hours=sessions.LIFETIME_HOURS, minutes=1)) is None
    assert audit.trail(db, "sign_out")["detail"][0] == f"lifetime ({sessions.LIFETIME_HOURS} h)"


def test_a_live_session_is_trusted_for_a_few_seconds_but_a_sign_out_or_change_here_counts_at_once(db):
    name = account(db, "manager")
    token = sessions.start(name, "manager", db=db)
    assert sessions.check_recent(token, db, within=60).name == "manager"
    with audit.connect(db) as con:  # ended in the store by another process (the command line, another server)
        con.sql("delete from sessions")
    assert sessions.check_recent(token, db, within=60).name == "manager"  # this process's answer, within its seconds
    assert sessions.check_recent(token, db, within=0) is None  # past them: the store is asked again
    assert sessions.check_recent(token, db, within=60) is None  # and an ended session is not remembered
    for end in (lambda t: sessions.end(t, db), lambda t: operations.disable_user(db, name, operations.Actor("test"))):
        token = sessions.start(name, "manager", db=db)
        assert sessions.check_recent(token, db, within=60) is not None
        end(token)
        assert sessions.check_recent(token, db, within=60) is None


def test_sign_out_ends_the_session_in_the_store(db):
    at = signed_in(db, "staff")
    assert len(sessions.listing(db)) == 1
    at.button(key="sign_out").click().run()
    assert not at.get("page_link") and at.success[0].value == t("sessions_signed_out", "zh")
    assert at.get("link_button")[0].proto.url.startswith("/signin?next=")
    assert sessions.listing(db).is_empty()
    assert audit.trail(db, "sign_out")["user_name"].to_list() == ["staff"]


def test_another_process_opens_the_access_file_between_this_ones_uses_and_each_sees_the_others_writes(db):
    """This process attaches the access file for each use and detaches it after: a second server process (or the
    command line) opens it read-write in between, and a session it ends is ended here at the next check."""
    token = sessions.start(account(db, "staff"), "staff", db=db)
    assert sessions.check(token, db) is not None
    child = f"""
import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
from pathlib import Path
from microbranch import sessions
ended = sessions.end({token!r}, Path({str(db)!r}))
print(ended)
"""
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "staff"
    assert sessions.check(token, db) is None
    assert audit.trail(db, "sign_out")["user_name"].to_list() == ["staff"]


def test_no_session_id_or_an_unknown_one_is_signed_out(db):
    account(db, "staff")
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.session_state[TOKEN] = "made-up"
    at.switch_page("app_pages/audit.py").run()
    assert not at.get("page_link") and not at.dataframe
    assert at.get("link_button")[0].proto.url == "/signin?next=%2Faudit"


def test_without_accounts_one_local_user_with_a_banner_on_every_page(db):
    for name in PAGES:
        at = signed_in(db, None, f"app_pages/{name}.py")
        assert at.info[0].value == t("access_single_banner", "zh"), name
        assert not [w for w in at.warning if "无权打开" in w.value], name


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
    at.download_button(key="dl_adrift").click().run()
    at.download_button(key="dl_chains_longest.csv").click().run()  # no pseudonyms in it: not audited
    rows = audit.trail(db, "download")
    assert rows["user_name"].to_list() == ["manager"]
    assert rows["detail"][0].startswith("chains_adrift.csv")


def test_staff_read_the_audit_trail_on_its_page(db):
    assert auth.sign_in(account(db, "staff"), PASSWORD, "10.0.0.7", db=db).role == "staff"
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

    con = data._connection(db.resolve(), storage.current_version(db)).cursor()
    with pytest.raises(Exception, match="disabled by configuration|Cannot change configuration|Permission"):
        con.sql(sql.format(tmp=tmp_path)).fetchall()
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "other.duckdb").exists()
    assert con.sql("select count(*) from events").fetchall()[0][0] > 0  # its own data it reads


def test_a_csv_download_neutralises_formulas_in_titles_and_headings():
    from ui.kit import safe_csv

    frame = pl.DataFrame({"title": ['=HYPERLINK("http://x","y")', "+1", "plain"], "=cmd": ["@a", "-2", "\tb"]})
    rows = list(csv.reader(io.StringIO(safe_csv(frame).decode("utf-8-sig"))))
    assert rows == [["title", "'=cmd"], ["'=HYPERLINK(\"http://x\",\"y\")", "'@a"], ["'+1", "'-2"], ["plain", "'\tb"]]


def test_a_csv_download_writes_dates_and_times_as_a_spreadsheet_reads_them():
    from ui.kit import safe_csv

    frame = pl.DataFrame({"at": [datetime(2024, 2, 29, 9, 5, 3), datetime(2024, 2, 29, 23, 59, 59, 120000), None],
                          "day": [date(2024, 2, 29), None, date(2025, 1, 1)]})
    made = safe_csv(frame)
    assert made.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(made.decode("utf-8-sig"))))
    assert rows == [["at", "day"], ["2024-02-29 09:05:03", "2024-02-29"], ["2024-02-29 23:59:59.120", ""],
                    ["", "2025-01-01"]]


def test_retention_deletes_old_events_with_their_rejects_and_is_audited(db):
    con = storage.reader(db)
    total = con.sql("select count(*) from events").fetchall()[0][0]
    old = con.sql("select count(*) from events where occurred_at < '2024-05-01'").fetchall()[0][0]
    con.close()
    assert 0 < old < total
    events = operations.apply_retention(db, 1, operations.Actor("test"), now=datetime(2025, 5, 1)).events
    con = storage.reader(db)
    assert events == old
    assert con.sql("select count(*) from events").fetchall()[0][0] == total - old
    assert con.sql("select min(occurred_at) from events").fetchall()[0][0] >= datetime(2024, 5, 1)
    con.close()
    assert audit.trail(db, "retention")["user_name"].to_list() == ["test"]


# --- sessions from the command line ---

def test_user_sessions_lists_and_user_signout_and_role_end_them(db, capsys):
    from microbranch import cli

    for role in ("staff", "manager"):
        sessions.start(account(db, role), role, "10.0.0.7", "Firefox 140", db=db)
    assert cli.main(["--db", str(db), "user", "sessions"]) == 0
    listed = capsys.readouterr().out
    assert "staff" in listed and "manager" in listed and "10.0.0.7" in listed and "Firefox 140" in listed
    assert cli.main(["--db", str(db), "user", "signout", "staff"]) == 0
    assert "1 session(s) of staff ended" in capsys.readouterr().out
    assert sessions.listing(db)["name"].to_list() == ["manager"]
    assert cli.main(["--db", str(db), "user", "role", "manager", "--role", "official"]) == 0
    assert sessions.listing(db).is_empty()
    assert auth.users(db).filter(pl.col("name") == "manager")["role"][0] == "official"
    assert {"sign_out", "user_role"} <= set(audit.trail(db)["action"].to_list())
