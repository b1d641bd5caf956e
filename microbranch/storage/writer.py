"""The only read-write connection to the data: one import at a time, the schema brought up to date on the way in,
the new state published on the way out."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from microbranch import derived, settings, walks
from microbranch.duck import quote
from microbranch.queries import MACROS
from microbranch.storage.errors import PublishError
from microbranch.storage.locations import locations
from microbranch.storage.lock import empty_work, locked
from microbranch.storage.publishing import Step, current_version, no_step, publish, reconcile

SCHEMA = Path(__file__).with_name("sql") / "schema.sql"
# The tables, then the macros the queries share. Their version is stored in meta: they are run again only when it
# changes (re-creating every macro rewrites the catalogue, about a second per import at 10M events).
SCHEMA_FILES = (SCHEMA, *MACROS)
SCHEMA_VERSION = hashlib.sha256(b"".join(f.read_bytes() for f in SCHEMA_FILES)).hexdigest()[:12]
# DuckDB's memory for an import is the setting import_memory (3 GB). Beyond it DuckDB spills to `<db>.work/spill/`,
# which keeps a 10M-event import near 3 GB at a cost of a few seconds.
WRITER_CONFIG = {"checkpoint_threshold": "1TB"}  # the log is folded only by `fold`, never on the way


@contextmanager
def writer(db: Path, wait_seconds: float = 600,
           publish_on_exit: bool | Callable[[], bool] = True, on_step: Step = no_step,
           fold_inline: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """The only read-write connection: waits for another import to finish, puts an interrupted publish
    right, opens the file, and once it is closed again publishes it as the new snapshot (still locked).
    `publish_on_exit` may be a function asked at the end, so a writer that changed nothing publishes no new
    version. `on_step` is told "committed" and each step of publishing; `fold_inline` folds a log past its
    threshold here instead of in a process of its own."""
    where = locations(db)
    with locked(where, wait_seconds):
        empty_work(where)  # what a killed import left behind
        try:
            reconcile(where, check_base=False)
        except PublishError:
            pass  # still no room to publish: this import is stored all the same, and its publish says so
        con = duckdb.connect(str(where.db), config=WRITER_CONFIG)
        try:
            con.sql("pragma disable_checkpoint_on_shutdown")
            con.sql(f"set memory_limit = {quote(settings.current().import_memory)}")
            con.sql("set enable_progress_bar = false")  # an import's progress is reported by its caller
            con.sql(f"set temp_directory = {quote(str(where.spill))}")
            _migrate(con)
            yield con
            publish_it = publish_on_exit() if callable(publish_on_exit) else publish_on_exit
            generation = next_generation(con) if publish_it else None
        finally:
            con.close()
            empty_work(where)
        on_step("committed")
        if publish_it:
            publish(where.db, on_step, fold_inline, generation)


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Bring the tables and macros up to this version; rebuild what is derived when the tables were made anew."""
    stored = stored_schema(con)
    if stored == SCHEMA_VERSION:
        return
    older = _events_table(con)
    if older:  # events stored by older code as a table of their own, named by text: `events` is now a view
        con.sql("alter table events rename to events_before")
    for f in SCHEMA_FILES:
        con.sql(f.read_text(encoding="utf-8"))
    if older:
        _events_onto_numbers(con, "events_before")
    if stored is not None:  # the derived tables were made anew: rebuild them from the events
        derived.refresh_items(con)
    walks.refresh(con)  # the walks as this version's macros read them
    con.sql("insert or replace into meta values ('schema', $v)", params={"v": SCHEMA_VERSION})


def _events_table(con: duckdb.DuckDBPyConnection) -> bool:
    """Events are stored as older code stored them: a table `events` (this version's is a view)."""
    return con.sql("select count(*) from duckdb_tables() where table_name = 'events' and not temporary"
                   ).fetchall()[0][0] > 0


def _events_onto_numbers(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Move the events older code stored in `table` (copy and readers as text, with or without their numbers) into
    event_rows, numbered, and drop `table`."""
    derived.add_keys(con, f"(select item_id from {table})",
                     f"(select reader from {table} union all select from_reader from {table})")
    con.sql(f"""
        insert into event_rows
        select e.event_key, e.occurred_at, e.action, i.item_no, r.reader_no, f.reader_no, e.branch_id, e.channel,
            e.due_at, e.import_id,
        from {table} as e
        inner join keyed_items as i using (item_id)
        inner join keyed_readers as r on e.reader = r.reader
        left join keyed_readers as f on e.from_reader = f.reader
        order by e.occurred_at
    """)
    con.sql(f"drop table keyed_items; drop table keyed_readers; drop table {table}")


def next_generation(con: duckdb.DuckDBPyConnection) -> int:
    """Count one more state to publish (in `meta`, key `generation`); the snapshot made from it records the same
    number in its SOURCE, so a writer found behind what was published is known (`publishing.reconcile`)."""
    return int(con.sql("""
        insert or replace into meta
        select 'generation', (coalesce(max(try_cast(value as bigint)) filter (where key = 'generation'), 0) + 1)
            ::varchar
        from meta
        returning value
    """).fetchall()[0][0])


def upgrade(db: Path) -> None:
    """Publish a snapshot with the current schema (tables, macros) when the current one was made by older code."""
    from microbranch.storage.read import reader

    if current_version(db) is None:
        return
    con = reader(db)
    try:
        stored = stored_schema(con)
    finally:
        con.close()
    if stored != SCHEMA_VERSION:
        with writer(db):
            pass


def stored_schema(con: duckdb.DuckDBPyConnection) -> str | None:
    """The schema version a database was last brought up to (None: a new file)."""
    try:
        return con.sql("select max(value) from meta where key = 'schema'").fetchall()[0][0]
    except duckdb.CatalogException:
        return None
