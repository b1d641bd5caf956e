"""Server time of every dashboard page, signed in (AppTest runs the page script in this process). Prints figures.

    python benchmarks/bench_pages.py [--db PATH] [--roles manager,official] [--runs N] [--pages a,b]

Each role signs in the way the dashboard's form does: a local account and a server-side session whose id stands
where the browser's cookie would be. Every page the role may open is timed three ways:

* first: the page's first view in this process (cold caches: its queries run);
* warm: a new session opening the page once another has (what the next viewer costs), median of --runs;
* rerun: the same session run again with nothing changed (median of --runs);

each as wall seconds and this process's CPU seconds (the server CPU per view). Every AppTest shares one registry
of custom components: AppTest scans every installed package's metadata for them once per AppTest (tens of ms), where
a server does it once when it starts, so without this a new session here cost more than it does on the server.
Likewise they share one cache of compiled scripts (AppTest compiles dashboard.py and the page on every run, a server
once).
A new session's id is checked in the store once (on the server the page's request does it, and the script run
trusts that answer for a few seconds). Targets (issue 21): warm CPU per view <= 50 ms. The floors: pages of the
framework alone (a title and a metric; a title and one small plotly chart) run the same way. The load average is printed
before and after.

With --db (e.g. the 10M database, read-only and maybe shared) the accounts are made in a viewing folder of its own:
the writer file and the published snapshots are linked, the accounts and the audit trail are new, so the database's
own folder is never written. Without --db the Nansha sample is loaded into a temporary database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "_bench_session_token"
FLOORS = {  # pages of the framework alone (AppTest of the script, a new session each)
    "bare": "import streamlit as st\nst.title('floor')\nst.metric('loans', 1234)\n",
    "one chart": "import plotly.express as px\nimport streamlit as st\nst.title('floor')\n"
                 "bar = st.cache_resource(lambda: px.bar(x=[f'B{i:04d}' for i in range(15)], y=list(range(15))))\n"
                 "st.plotly_chart(bar())\n",  # the figure made once, as the dashboard's are
}
PASSWORD = "bench password 2024 基准"


def viewing_folder(db: Path, folder: Path) -> Path:
    """A database path in `folder` that reads `db`'s writer file and snapshots, with accounts of its own. Refused
    when `db` needs this code's schema (the server would upgrade it, writing into `db`'s own folder)."""
    from microbranch import storage
    from microbranch.storage.writer import SCHEMA_VERSION, stored_schema

    con = storage.reader(db)
    try:
        if stored_schema(con) != SCHEMA_VERSION:
            raise SystemExit(f"{db} was made with another schema than this code's: copy it (cp -r) and give --db "
                             "the copy, which the server may upgrade")
    finally:
        con.close()
    view = folder / db.name
    for suffix in ("", ".snapshots", ".wal"):
        source = db.with_name(db.name + suffix)
        if source.exists():
            (folder / (db.name + suffix)).symlink_to(source)
    return view


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path)
    parser.add_argument("--roles", default="manager,official")
    parser.add_argument("--pages", default="", help="only these pages (comma-separated); default every page")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="bench_pages_")
    folder = Path(tmp.name)
    if args.db:
        key = args.db.with_name("microbranch.key")
        os.environ.setdefault("MICROBRANCH_KEY_FILE", str(key))
        db = viewing_folder(args.db.resolve(), folder)
    else:
        db = folder / "microbranch.duckdb"
        os.environ.setdefault("MICROBRANCH_KEY_FILE", str(folder / "microbranch.key"))
    os.environ["MICROBRANCH_DB"] = str(db)

    import streamlit as st
    from streamlit import logger
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import AppTest, app_test, local_script_runner

    from microbranch import access, auth, operations, sample, sessions, storage
    from sample_data.generate import generate
    from ui import signin

    one_script_cache = ScriptCache()  # a server compiles each page script once; AppTest once per run (see above)
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: one_script_cache
    logger.set_log_level("error")  # AppTest's bare-mode warnings, once per widget (the environment is read by the CLI)
    signin.token = lambda: st.session_state.get(TOKEN)  # AppTest has no browser: the cookie stands in the state
    if storage.current_version(db) is None:
        sample.load(db, generate)

    def session(role: str) -> str:
        if role not in auth.users(db)["name"].to_list():
            operations.add_user(db, role, role, PASSWORD, operations.Actor("bench"))
        return sessions.start(role, role, db=db)

    components = None

    def view(role: str, page: str) -> tuple[AppTest, float, float]:
        nonlocal components
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
        at._bidi_component_manager = components  # noqa: SLF001 - the server's one scan (see above)
        at.session_state[TOKEN] = session(role)
        sessions.forget_all()  # a new viewer's session is checked in the store once, as on the server
        at.switch_page(f"app_pages/{page}.py")
        took = timed(at)
        components = at._bidi_component_manager  # noqa: SLF001
        return (at, *took)

    def timed(at: AppTest) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        at.run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if at.exception:
            raise SystemExit(f"page failed: {[e.value for e in at.exception]}")
        return wall, cpu

    pages = [p for p in access.PAGES if not args.pages or p in args.pages.split(",")]
    print(f"database {args.db or db}, version {storage.current_version(db)}; {load()}")
    print(f"{args.runs} runs per figure; wall / CPU seconds of this process (the server)")
    print(f"{'role':<9}{'page':<12}{'first s':>9}{'first cpu':>10}{'warm s':>8}{'warm cpu':>9}{'rerun s':>9}"
          f"{'rerun cpu':>10}{'metrics':>8}")
    for role in args.roles.split(","):
        for page in pages:
            if not access.may_open(role, page):
                continue
            at, first, first_cpu = view(role, page)
            warm = [view(role, page)[1:] for _ in range(args.runs)]
            rerun = [timed(at) for _ in range(args.runs)]
            med = [statistics.median(x[i] for x in runs) for runs in (warm, rerun) for i in (0, 1)]
            print(f"{role:<9}{page:<12}{first:>9.2f}{first_cpu:>10.3f}{med[0]:>8.2f}{med[1]:>9.3f}{med[2]:>9.2f}"
                  f"{med[3]:>10.3f}{len(at.metric):>8}", flush=True)
    for label, script in FLOORS.items():  # the framework alone, run the same way: what no page can cost less than
        def floor_view(script: str = script) -> tuple[float, float]:
            at = AppTest.from_string(script, default_timeout=600)
            at._bidi_component_manager = components  # noqa: SLF001 - the server's one scan (see above)
            return timed(at)

        bare = [floor_view() for _ in range(args.runs + 1)][1:]
        print(f"{'floor':<9}{label:<12}{'':>19}{statistics.median(w for w, _ in bare):>8.2f}"
              f"{statistics.median(c for _, c in bare):>9.3f}", flush=True)
    print(load())


if __name__ == "__main__":
    main()
