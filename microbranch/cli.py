"""Command line: `python -m microbranch [--db PATH] serve | import | undo | profile | query | rejects |
imports | user | audit | retention | report | export | recover | backup | restore`. The Nansha sample has its own,
`python -m sample_data` (its generator stands on the core).

Exit status: 0 when the files were read (even with rejected rows), 1 when a file was refused whole or the
data could not be read, 2 on wrong usage. Every error a user can cause ends in one line on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import logging
import os
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from microbranch import (
    access,
    audit,
    auth,
    csvout,
    export,
    operations,
    privacy,
    profiles,
    queries,
    sessions,
    settings,
    storage,
)
from microbranch.contract import ContractError
from microbranch.i18n import LANGS, t
from microbranch.ingest import ImportResult, reason_text
from microbranch.storage import backup


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m microbranch", description="Micro-branch data: import and query.")
    p.add_argument("--db", type=Path, default=None, help="database file (default: $MICROBRANCH_DB or "
                   "data/microbranch.duckdb)")
    sub = p.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("serve", help="serve the dashboard (server.py): sign-in, sessions, on ADDRESS:PORT")
    srv.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    srv.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    imp = sub.add_parser("import", help="import export files (CSV or .xlsx), one transaction each")
    imp.add_argument("files", nargs="+", type=Path)
    imp.add_argument("--user", default="cli", help="who imports (recorded in the import log)")
    imp.add_argument("--profile", help="a saved column mapping to read the files with (see `profile list`)")
    imp.add_argument("--lang", choices=LANGS, default="en", help="language of refusals")
    und = sub.add_parser("undo", help="undo an import: its rows go, derived data is rebuilt")
    und.add_argument("import_id", type=int)
    und.add_argument("--user", default="cli", help="who undoes it (recorded in the import log)")
    und.add_argument("--yes", action="store_true", help="undo even when later data depends on it (orphans)")
    und.add_argument("--lang", choices=LANGS, default="en")
    inb = sub.add_parser("inbox", help="import every settled file in DIR/incoming/, then move it to DIR/done/ or "
                         "DIR/failed/ with a reason file")
    inb.add_argument("folder", type=Path, metavar="DIR")
    once = inb.add_mutually_exclusive_group(required=True)
    once.add_argument("--once", action="store_true", help="one pass, then stop (a timer's job)")
    once.add_argument("--watch", action="store_true", help="keep running, a pass at each new file (a service's job)")
    inb.add_argument("--lang", choices=LANGS, default=None, help="language of what is printed (default: the lang "
                     "setting)")
    subs = sub.add_parser("subscribe", help="who gets the monthly report by mail: add, list, remove")
    subs_sub = subs.add_subparsers(dest="subscribe_command", required=True)
    s_add = subs_sub.add_parser("add", help="mail the monthly report to EMAIL, for an account that may read it")
    s_add.add_argument("email")
    s_add.add_argument("--user", required=True, help="the dashboard account the address belongs to (its role must "
                       "be one that may read the report)")
    s_add.add_argument("--lang", choices=("zh", "en"), default="zh")
    s_add.add_argument("--format", choices=("pdf", "html"), default="pdf")
    subs_sub.add_parser("list", help="the subscriptions")
    subs_sub.add_parser("remove", help="stop mailing EMAIL").add_argument("email")
    dlv = sub.add_parser("deliver", help="mail the month's report to every subscriber (SMTP from the settings)")
    dlv.add_argument("--month", help="YYYY-MM (default: the previous whole month)")
    dlv.add_argument("--force", action="store_true", help="send again to addresses that already had this month")
    prof = sub.add_parser("profile", help="saved column mappings: list, export, import")
    prof.add_argument("action", choices=("list", "export", "import"))
    prof.add_argument("name_or_file", nargs="?", help="the profile's name (export) or a profile file (import)")
    qry = sub.add_parser("query", help="run a named query from queries/")
    qry.add_argument("name", help="one of: " + ", ".join(queries.names()))
    qry.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    qry.add_argument("--format", choices=("table", "csv", "json"), default="table")
    qry.add_argument("--parquet", type=Path, metavar="DIR", help="run it on a Parquet export instead of the database")
    rej = sub.add_parser("rejects", help="list rejected rows (CSV on stdout)")
    rej.add_argument("--import-id", type=int, help="only this import")
    rej.add_argument("--lang", choices=LANGS, default="zh", help="language of the reasons (default zh)")
    sub.add_parser("imports", help="the import log")
    usr = sub.add_parser("user", help="dashboard accounts: add, list, disable, passwd, role, sessions, signout")
    usr_sub = usr.add_subparsers(dest="user_command", required=True)
    add = usr_sub.add_parser("add", help="add an account; the password is asked for twice, never taken as an argument")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=access.ROLES)
    usr_sub.add_parser("list", help="the accounts, their roles and whether they are disabled")
    usr_sub.add_parser("disable", help="disable an account (it can no longer sign in)").add_argument("name")
    usr_sub.add_parser("passwd", help="set a new password (and enable the account again)").add_argument("name")
    rol = usr_sub.add_parser("role", help="give an account another role (its open sessions end)")
    rol.add_argument("name")
    rol.add_argument("--role", required=True, choices=access.ROLES)
    usr_sub.add_parser("sessions", help="the open sessions: who, since when, last use, address, browser")
    usr_sub.add_parser("signout", help="end every open session of an account").add_argument("name")
    aud = sub.add_parser("audit", help="the audit trail: sign-ins, lockouts, imports, undos, user changes, downloads")
    aud.add_argument("--action", help="only this action (e.g. sign_in_failed, download, import)")
    aud.add_argument("--limit", type=int, help="only the newest N rows")
    aud.add_argument("--format", choices=("table", "csv", "json"), default="table")
    ret = sub.add_parser("retention", help="delete events older than N years, with their rejected rows (audited)")
    ret.add_argument("--years", type=int, default=None,
                     help="years to keep (default: $MICROBRANCH_RETENTION_YEARS; nothing is deleted without one)")
    rep = sub.add_parser("report", help="the district report for a month (or any period), as HTML or PDF")
    when = rep.add_mutually_exclusive_group(required=True)
    when.add_argument("--month", help="the month, YYYY-MM")
    when.add_argument("--from", dest="date_from", type=date.fromisoformat, help="first day, YYYY-MM-DD (with --to)")
    rep.add_argument("--to", dest="date_to", type=date.fromisoformat, help="last day, YYYY-MM-DD")
    rep.add_argument("--lang", choices=("zh", "en"), default="zh")
    rep.add_argument("--format", choices=("html", "pdf"), default="pdf")
    rep.add_argument("--walk", type=int, choices=(5, 10, 15), default=15, help="walking threshold in minutes")
    rep.add_argument("--time-limit", type=float, default=10.0, help="seconds per next-site solve (default 10)")
    rep.add_argument("--out", type=Path, required=True, help="the file to write")
    pre = sub.add_parser("report-pieces", help="make and keep the district report's pieces for a month (default: the "
                         "latest whole month), both languages; run in the background after every import")
    pre.add_argument("--month", help="the month, YYYY-MM")
    exp = sub.add_parser("export", help="write the published data as Parquet, partitioned by month")
    exp.add_argument("--parquet", type=Path, metavar="DIR", required=True, help="folder to write (views.sql inside)")
    rec = sub.add_parser("recover", help="put the database and its published snapshot back in step (done at start)")
    rec.add_argument("--fold", action="store_true", help="then fold the log into a new base if it is due")
    bak = sub.add_parser("backup", help="copy the published data, accounts and audit, and profiles into DIR "
                         "(consistent while the dashboard serves; docs/operations.md)")
    bak.add_argument("folder", type=Path, metavar="DIR", help="a new or empty folder")
    bak.add_argument("--with-key", action="store_true", help="also copy the pseudonymisation key (owner-only); "
                     "keep that backup apart from the data's")
    rst = sub.add_parser("restore", help="rebuild a working database at --db (an empty place) from a backup DIR")
    rst.add_argument("folder", type=Path, metavar="DIR")
    return p


def _password(prompt: str = "Password: ") -> str:
    first = getpass.getpass(prompt)
    if len(first) < auth.MIN_LENGTH:
        raise auth.AccountError(f"the password is too short: at least {auth.MIN_LENGTH} characters")
    if getpass.getpass("Again: ") != first:
        raise auth.AccountError("the two passwords differ; nothing was changed")
    return first


def _user(args: argparse.Namespace, db: Path) -> int:
    by = operations.Actor.command_line()
    if args.user_command == "list":
        _print(auth.users(db), "table")
    elif args.user_command == "add":
        operations.add_user(db, args.name, args.role, _password(f"Password for {args.name}: "), by)
        print(f"added {args.name} ({args.role})")
    elif args.user_command == "disable":
        operations.disable_user(db, args.name, by)
        print(f"disabled {args.name}; their open sessions are ended")
    elif args.user_command == "role":
        operations.set_role(db, args.name, args.role, by)
        print(f"{args.name} is now {args.role}; their open sessions are ended")
    elif args.user_command == "sessions":
        _print(sessions.listing(db), "table")
    elif args.user_command == "signout":
        print(f"{sessions.end_user(args.name, db, f'signed out by {by.name}')} session(s) of {args.name} ended")
    else:
        operations.set_password(db, args.name, _password(f"New password for {args.name}: "), by)
        print(f"new password set for {args.name}")
    return 0


def _inbox(args: argparse.Namespace, db: Path) -> int:
    from microbranch import inbox

    lang = args.lang or settings.current().lang

    def say(o: inbox.Outcome) -> None:
        where = f" -> {o.moved_to}" if o.moved_to else ""
        print(f"{o.state:8} {o.file_name}{where}" + (f"\n         {o.reason[lang]}" if o.reason else ""), flush=True)

    if args.watch:
        print(f"watching {args.folder.resolve() / 'incoming'} (Ctrl-C stops)", flush=True)
        try:
            inbox.watch(db, args.folder, say)
        except KeyboardInterrupt:
            pass
        return 0
    outcomes = inbox.run_once(db, args.folder)
    for o in outcomes:
        say(o)
    counts = {s: sum(o.state == s for o in outcomes) for s in ("done", "failed", "waiting")}
    print(f"{counts['done']} imported, {counts['failed']} failed, {counts['waiting']} left for the next pass")
    return 1 if counts["failed"] else 0


def _subscribe(args: argparse.Namespace, db: Path) -> int:
    from microbranch import delivery

    by = operations.Actor.command_line()
    if args.subscribe_command == "list":
        for s in delivery.listing(db):
            print(f"{s.email}\t{s.user_name}\t{s.lang}\t{s.format}")
    elif args.subscribe_command == "add":
        try:
            s = operations.subscribe(db, args.email, args.user, args.lang, args.format, by)
        except delivery.DeliveryError as exc:
            print(exc, file=sys.stderr)
            return 2
        print(f"subscribed {s.email} ({s.user_name}, {s.lang}, {s.format})")
    elif operations.unsubscribe(db, args.email, by):
        print(f"unsubscribed {args.email}")
    else:
        print(f"{args.email} was not subscribed", file=sys.stderr)
        return 1
    return 0


def _deliver(args: argparse.Namespace, db: Path) -> int:
    d = operations.deliver(db, operations.Actor.command_line(), args.month, force=args.force)
    for email in d.sent:
        print(f"sent     {d.month} to {email}")
    for email, why in d.skipped:
        print(f"skipped  {email}: {why}")
    for email, why in d.failed:
        print(f"failed   {email}: {why}", file=sys.stderr)
    if d.failed:
        print(f"the staff were told at {d.alerted}" if d.alerted else "no staff address or mail server is set to tell",
              file=sys.stderr)
    print(f"{d.month}: {len(d.sent)} sent, {len(d.skipped)} skipped, {len(d.failed)} failed")
    return 1 if d.failed else 0


def _retention(args: argparse.Namespace, db: Path) -> int:
    years = args.years if args.years is not None else settings.current().retention_years
    if years is None:
        print("say how many years to keep: --years N (or set MICROBRANCH_RETENTION_YEARS)", file=sys.stderr)
        return 2
    r = operations.apply_retention(db, years, operations.Actor.command_line())
    print(f"deleted {r.events} events and {r.rejects} rejected rows older than {years} years "
          f"(before {r.before:%Y-%m-%d})")
    return 0


def say(r: ImportResult) -> None:
    """One line for an import's result, as the command line prints it."""
    if r.status == "refused":
        print(f"{r.file_name}: refused: {r.message}", file=sys.stderr)
        return
    print(f"{r.file_name}: {r.kind}, {r.encoding}: {r.lines_read} lines read = {r.accepted} accepted + "
          f"{r.rejected} rejected + {r.duplicates} duplicates skipped"
          + (f"; {r.orphans} orphans (copy or branch not yet known)" if r.orphans else "")
          + (f"; {r.warnings} warnings" if r.warnings else "")
          + (f"; personal columns dropped: {', '.join(r.columns_dropped)}" if r.columns_dropped else "")
          + (f"; ignored columns: {', '.join(r.columns_ignored)}" if r.columns_ignored else "")
          + f" ({r.seconds:.1f} s, import {r.import_id})")


def _print(frame: pl.DataFrame, fmt: str) -> None:
    if fmt == "csv":
        sys.stdout.write(csvout.to_csv(frame))
    elif fmt == "json":
        def plain(v: object) -> object:
            if isinstance(v, (date, datetime)):
                return v.isoformat()
            if isinstance(v, Decimal):
                return float(v)
            return v
        rows = [{k: plain(v) for k, v in row.items()} for row in frame.to_dicts()]
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        with pl.Config(tbl_rows=50, tbl_cols=-1, tbl_width_chars=200, fmt_str_lengths=40):
            print(frame)


def _param(key: str, value: str) -> object:
    """A query parameter from the command line, typed where its name says what it is."""
    if key.startswith("date_"):
        return date.fromisoformat(value)  # only a real calendar day: no `inf`, no `infinity`
    if key == "branch_ids":
        return [v for v in value.split(",") if v]
    return value


# What a user's input or file can make fail. Anything else is a bug and keeps its traceback.
USER_ERRORS = (ContractError, FileNotFoundError, storage.StoreError, duckdb.Error, pl.exceptions.PolarsError,
               csv.Error, UnicodeError, ValueError, OverflowError, OSError)


def _failed(exc: BaseException, lang: str = "en") -> int:
    """One line on stderr for an error a user caused: what failed, not where in the code."""
    text = (exc.text(lang) if isinstance(exc, ContractError) else str(exc)).strip().strip("'\"").splitlines()
    print((text[0] if text else type(exc).__name__)[:500], file=sys.stderr)
    return 1


def _panicked(exc: BaseException) -> bool:
    """A Rust panic inside polars or fastexcel surfaces as pyo3's PanicException, a BaseException."""
    return type(exc).__module__ == "pyo3_runtime" or type(exc).__name__ == "PanicException"


def _profile(db: Path, action: str, name_or_file: str | None) -> int:
    if action == "list":
        for name, m in sorted(profiles.all_profiles(db).items()):
            print(f"{name}\t{m.kind}\t{m.signature}\t{m.built_from}")
        for file, exc in profiles.damaged(db):
            print(t("imp_ui_profiles_damaged", "en", file=file, reason=exc.text("en")), file=sys.stderr)
        return 0
    if not name_or_file:
        print(f"profile {action} needs a {'name' if action == 'export' else 'file'}", file=sys.stderr)
        return 2
    if action == "export":
        sys.stdout.write(profiles.find(db, name_or_file).to_json() + "\n")
        return 0
    m = profiles.import_text(db, Path(name_or_file).read_text(encoding="utf-8"))
    print(f"profile saved: {m.name}")
    return 0


def _serve(args: argparse.Namespace, db: Path) -> int:
    """The dashboard's web server is server.py, beside the core (it is Streamlit's side, which the core never
    imports): this process becomes it."""
    launcher = Path(__file__).resolve().parent.parent / "server.py"
    os.execve(sys.executable, [sys.executable, str(launcher), "--address", args.address, "--port", str(args.port)],
              settings.environment_for_child(db=db.resolve()))


def main(argv: list[str] | None = None) -> int:
    # What a child reading a file wrote (a library's abort and backtrace) is for a server's log, not this terminal.
    logging.getLogger("microbranch.import").addHandler(logging.NullHandler())
    args = _parser().parse_args(argv)
    db = args.db or settings.current().db
    os.umask(0o077)  # every file and folder made here (database, snapshots, work, logs, exports): owner-only
    try:
        return _run(args, db)
    except USER_ERRORS as exc:
        return _failed(exc, getattr(args, "lang", "en"))
    except BaseException as exc:
        if _panicked(exc):
            return _failed(exc)
        raise


def _run(args: argparse.Namespace, db: Path) -> int:
    if args.command == "serve":
        return _serve(args, db)
    if args.command == "import":
        missing = [f for f in args.files if not f.is_file()]
        if missing:
            print(f"no such file: {', '.join(map(str, missing))}", file=sys.stderr)
            return 2
        mapping = profiles.find(db, args.profile) if args.profile else None
        batch = operations.import_files(db, [operations.Upload(f.name, f, mapping) for f in args.files],
                                        operations.Actor.command_line(args.user), lang=args.lang)
        for r in batch.results:
            say(r)
        return 1 if batch.refused else 0
    if args.command == "undo":
        u = operations.undo(db, args.import_id, operations.Actor.command_line(args.user), confirm=args.yes)
        if u.status == "needs_confirmation":
            what = ", ".join(t(f"imp_orphans_{k}", args.lang, n=n) for k, n in u.orphans.items())
            print(t("imp_undo_orphans", args.lang, what=what) + " (--yes)", file=sys.stderr)
            return 1
        print(t("imp_undone", args.lang, import_id=u.import_id, file=u.file_name, removed=u.removed))
        return 0
    if args.command == "profile":
        return _profile(db, args.action, args.name_or_file)
    handler = {"inbox": _inbox, "subscribe": _subscribe, "deliver": _deliver, "query": _query, "report": _report,
               "report-pieces": _report_pieces, "user": _user}.get(args.command)
    if handler is not None:
        return handler(args, db)
    if args.command == "audit":
        _print(audit.trail(db, args.action, args.limit), args.format)
        return 0
    if args.command == "retention":
        return _retention(args, db)
    if args.command == "backup":
        made = backup.backup(db, args.folder, with_key=args.with_key)
        print(f"backed up {made.version} (generation {made.generation}): {made.files} files in {made.folder}"
              + (", with the key" if made.with_key else ", without the key (--with-key)"))
        return 0
    if args.command == "restore":
        key = backup.restore(args.folder, db, fingerprint_of=privacy.file_fingerprint)
        missing = f"no key: put the data's key at {storage.locations(db).key} before importing"
        print(f"restored into {db}: published {storage.current_version(db)}; " + (f"key {key}" if key else missing))
        return 0
    if args.command == "recover":
        storage.recover(db, fold_due=args.fold)
        print(f"published: {storage.current_version(db) or '-'}")
        return 0
    _recover(db)
    if args.command == "export":
        tables = export.export(db, args.parquet)
        print(f"{len(tables)} tables written to {args.parquet} (views.sql recreates them over the files)")
        return 0
    con = storage.reader(db)
    if args.command == "rejects":
        frame = queries.run(con, "rejects", import_id=args.import_id)
        reasons = [reason_text(r, d, s, args.lang) for r, d, s in frame.select("reason", "detail", "severity").rows()]
        _print(frame.with_columns(pl.Series("reason", reasons, dtype=pl.String)).drop("detail"), "csv")
    else:
        _print(queries.run(con, "imports"), "table")
    return 0


def _query(args: argparse.Namespace, db: Path) -> int:
    try:
        wanted = queries.params_of(args.name)
    except queries.UnknownQuery as exc:
        print(exc, file=sys.stderr)
        return 2
    params: dict[str, object] = {}
    for kv in args.param:
        key, sep, value = kv.partition("=")
        if not sep:
            print(f"--param takes KEY=VALUE, got {kv!r}", file=sys.stderr)
            return 2
        if key not in wanted:
            print(f"query {args.name} takes: {', '.join(wanted) or 'no parameters'}", file=sys.stderr)
            return 2
        try:
            params[key] = _param(key, value) if value else None
        except ValueError:
            print(f"--param {key} takes a day as YYYY-MM-DD, got {value!r}"[:300], file=sys.stderr)
            return 2
    if args.parquet:
        con = export.open_export(args.parquet)
    else:
        _recover(db)
        storage.upgrade(db)
        con = storage.reader(db)
    _print(queries.run(con, args.name, **params), args.format)
    return 0


def _report(args: argparse.Namespace, db: Path) -> int:
    from microbranch import report

    if args.month is None and (args.date_to is None or args.date_to < args.date_from):
        print("--from takes --to, a day on or after it", file=sys.stderr)
        return 2
    try:
        period = report.Period.month(args.month) if args.month else report.Period(args.date_from, args.date_to)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    storage.upgrade(db)
    con = storage.reader(db)
    try:
        out = report.write(con, period, args.out, args.lang, args.format, args.walk, args.time_limit,
                           report.Pieces(storage.locations(db).cache / "report"))
    except report.ReportError as exc:
        return _failed(exc)
    finally:
        con.close()
    print(out)
    return 0


def _report_pieces(args: argparse.Namespace, db: Path) -> int:
    from microbranch import report

    con = storage.reader(db)
    try:
        month = report.prepare(con, report.Pieces(storage.locations(db).cache / "report"), args.month)
    except report.ReportError as exc:
        return _failed(exc)
    finally:
        con.close()
    print(month or "-")
    return 0


def _recover(db: Path) -> None:
    """At start: repair an interrupted or damaged publish; a running import publishes on its own."""
    try:
        storage.recover(db, wait_seconds=5)
    except storage.BusyError:
        pass
    except storage.PublishError as exc:  # the published data still serves: say what is needed, go on
        print(exc, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
