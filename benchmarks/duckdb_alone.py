"""DuckDB alone storing an events file, in a process of its own (run by bench_import.py; prints one JSON line):

    python benchmarks/duckdb_alone.py EVENTS_CSV TARGET_DB DESIGN

* ``plain``: the file as it is (``create table t as select * from read_csv(...)``), what our import is compared with;
* ``keyed``: the events on integer keys of copies and readers, in time order, and nothing else;
* ``whole``: the least the design must do: the file checked and keyed in one pass and stored in time order, then
  each table the pages read (chains, hand-overs, loans, renewals and returns, each copy's state, the per day and
  per month sums, the activity bitmaps) built from the stored events in one statement of its own. Nothing is
  pseudonymised, no problem is recorded and nothing is kept by difference, so our import can only do more.
  The copies', titles' and readers' attributes (``items.csv``, ``readers.csv`` beside the events) are stored
  before the clock starts, as the imports of those files did.
"""

import json
import resource
import sys
import time
from pathlib import Path

import duckdb

KEYED = "events on integer keys, in time order"
KEYED_STEPS = [
    (KEYED, "create temp table raw as select * from read_csv($p)"),
    (KEYED, """create table item_keys as select row_number() over (order by item_id) as item_no, item_id,
        from (select distinct item_id from raw)"""),
    (KEYED, """create table reader_keys as select row_number() over (order by reader) as reader_no, reader,
        from (select reader_id as reader from raw union select from_reader_id from raw)"""),
    (KEYED, """create table t as
        select e.* exclude (item_id, reader_id, from_reader_id), i.item_no, r.reader_no, f.reader_no as from_no,
        from raw as e
        inner join item_keys as i using (item_id)
        inner join reader_keys as r on r.reader = e.reader_id
        left join reader_keys as f on f.reader = e.from_reader_id
        order by e.occurred_at"""),
]

ATTRIBUTES = [  # what the imports of items and readers stored
    """create table item_attrs as select row_number() over (order by item_id)::integer as item_no, item_id, title,
        home_branch_id, coalesce(owner, 'library') as owner, left(call_number, 1) as clc_class,
    from read_csv($items, all_varchar=true)""",
    """create table reader_attrs as select reader_id, reader_type, birth_year::integer as birth_year,
    from read_csv($readers, all_varchar=true)""",
    """create table titles as select row_number() over (order by title)::integer as title_no, title,
    from (select distinct title from item_attrs)""",
]

KEYS, MONTH = "keys of readers and branches", "(year(day) - 2000) * 12 + month(day) - 1"
WHOLE_STEPS = [
    (KEYS, """create temp table ids as
        select nullif(trim(reader_id), '') as reader, nullif(trim(from_reader_id), '') as from_reader,
            nullif(trim(branch_id), '') as branch_id,
        from read_csv($p, all_varchar=true)"""),
    (KEYS, """create table reader_keys as select row_number() over (order by reader)::integer as reader_no, reader,
        from (select reader from ids union select from_reader from ids) where reader is not null"""),
    (KEYS, """create table branch_keys as
        select row_number() over (order by branch_id)::integer as branch_no, branch_id,
        from (select distinct branch_id from ids where branch_id is not null)"""),
    # (copies not in the items file would need numbers of their own: the generated file has none)
    ("events checked, keyed and in time order", """create table events as
        with checked as (
            select event_id, try_strptime(occurred_at, '%Y-%m-%d %H:%M:%S') as occurred_at,
                case when action in ('checkout', 'transfer', 'renew', 'return') then action end as action,
                nullif(trim(item_id), '') as item_id, nullif(trim(reader_id), '') as reader_id,
                nullif(trim(from_reader_id), '') as from_reader_id, nullif(trim(branch_id), '') as branch_id,
                channel, try_cast(due_at as date) as due_at,
            from read_csv($p, all_varchar=true)
        )
        select e.event_id, e.occurred_at, e.action, i.item_no, r.reader_no, f.reader_no as from_reader_no,
            b.branch_no, e.channel, e.due_at,
        from checked as e
        inner join item_attrs as i using (item_id)
        inner join reader_keys as r on r.reader = e.reader_id
        left join reader_keys as f on f.reader = e.from_reader_id
        left join branch_keys as b using (branch_id)
        where e.occurred_at is not null and e.action is not null
        order by e.occurred_at"""),
    ("chains", """create temp table steps as
        select *, sum((action = 'checkout')::int) over w as c,
            sum((action = 'return')::int) over w - (action = 'return')::int as r,
        from events where action <> 'renew'
        window w as (partition by item_no
            order by occurred_at, case action when 'checkout' then 0 when 'transfer' then 1 else 3 end, event_id)"""),
    ("chains", """create table chains as
        select item_no, c, r, row_number() over (partition by item_no order by c, r) as chain_no,
            min(occurred_at) as started_at, max(occurred_at) filter (where action = 'return') as ended_at,
            arg_min(branch_no, occurred_at) as start_branch_no,
            max(branch_no) filter (where action = 'return') as end_branch_no,
            count(*) filter (where action = 'transfer') + 1 as holders,
        from steps group by item_no, c, r order by started_at"""),
    ("chains", """create table chain_transfers as
        select s.event_id, s.item_no, c.chain_no, s.occurred_at, s.reader_no, s.from_reader_no, c.start_branch_no,
        from steps as s inner join chains as c using (item_no, c, r)
        where s.action = 'transfer' order by s.occurred_at"""),
    ("chains", """create table chains_month as
        select date_trunc('month', ended_at) as month, start_branch_no, holders, count(*) as chains,
            sum(epoch_us(ended_at - started_at)) as us_out,
        from chains group by all"""),
    ("chains", """create table chains_long as
        select item_no, chain_no, started_at, ended_at, start_branch_no, end_branch_no, holders,
        from chains where holders >= 4"""),
    ("loans", """create table loans as
        select s.occurred_at::date as day, s.occurred_at, s.action = 'transfer' as is_transfer,
            case when s.action = 'checkout' then s.branch_no else c.start_branch_no end as branch_no, s.item_no,
            s.reader_no,
        from steps as s
        left join chains as c on s.action = 'transfer' and c.item_no = s.item_no and c.c = s.c and c.r = s.r
        where s.action in ('checkout', 'transfer') order by s.occurred_at"""),
    ("renewals and returns", """create table actions as
        select occurred_at::date as day, occurred_at, action = 'return' as is_return, branch_no, item_no,
        from events where action in ('renew', 'return') order by occurred_at"""),
    ("copy state", """create table copy_state as
        select i.item_no, c.last.started_at, c.last.ended_at, c.last.end_branch_no, l.last_loan_at, d.due_at,
        from item_attrs as i
        left join (select item_no, arg_max(ch, chain_no) as last from chains as ch group by all) as c using (item_no)
        left join (select item_no, max(occurred_at) as last_loan_at from loans group by all) as l using (item_no)
        left join (select item_no, arg_max(due_at, occurred_at) as due_at from events where due_at is not null
                   group by all) as d using (item_no)"""),
    ("sums", """create table loans_day as select day, branch_no, count(*) filter (where not is_transfer) as checkouts,
        count(*) filter (where is_transfer) as transfers, from loans group by all"""),
    ("sums", """create table actions_day as select day, branch_no, count(*) filter (where not is_return) as renewals,
        count(*) filter (where is_return) as returns, from actions group by all"""),
    ("sums", """create table loans_month as select date_trunc('month', day) as month, branch_no,
        count(*) filter (where not is_transfer) as checkouts, count(*) filter (where is_transfer) as transfers,
        count(distinct reader_no) as readers, from loans group by grouping sets ((month, branch_no), (month))"""),
    ("sums", """create table loans_hour_month as select date_trunc('month', day) as month,
        isodow(occurred_at) as weekday, hour(occurred_at) as hour, count(*) as loans, from loans group by all"""),
    ("sums", """create table loans_item_month as select date_trunc('month', l.day) as month, l.branch_no,
            i.home_branch_id, i.clc_class, i.owner, t.title_no, count(*) as loans,
        from loans as l inner join item_attrs as i using (item_no) left join titles as t using (title)
        group by all"""),
    ("sums", """create table loans_reader_month as select date_trunc('month', l.day) as month, l.branch_no,
            a.reader_type, a.birth_year, count(*) as loans,
        from loans as l inner join reader_keys as k using (reader_no)
        left join reader_attrs as a on a.reader_id = k.reader
        group by all"""),
    ("sums", """create table reader_firsts as select reader_no, min(occurred_at) as first_at,
        arg_min(branch_no, occurred_at) as branch_no, from loans group by all"""),
    ("bitmaps", f"""create table reader_months as
        select reader_no, m // 120 as block, bit_or(1::hugeint << (m % 120)::integer) as months,
        from (select distinct reader_no, {MONTH} as m from loans) group by all"""),
    ("bitmaps", f"""create table reader_branch_months as
        select branch_no, reader_no, m // 120 as block, bit_or(1::hugeint << (m % 120)::integer) as months,
        from (select distinct branch_no, reader_no, {MONTH} as m from loans) group by all"""),
    ("bitmaps", f"""create table item_months as
        select item_no, m // 120 as block, bit_or(1::hugeint << (m % 120)::integer) as months,
        from (select distinct item_no, {MONTH} as m from loans) group by all"""),
]

def main() -> None:
    csv_path, db_path, design = sys.argv[1], sys.argv[2], sys.argv[3]
    con = duckdb.connect(db_path)
    if design == "plain":
        steps = [("the file as it is", "create table t as select * from read_csv($p)")]
    elif design == "keyed":
        steps = KEYED_STEPS
    else:
        folder = Path(csv_path).parent
        for sql in ATTRIBUTES:
            con.sql(sql, params={k: str(folder / f"{k}.csv") for k in ("items", "readers") if f"${k}" in sql})
        con.sql("checkpoint")
        steps = WHOLE_STEPS
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    for name, sql in steps:
        t = time.perf_counter()
        con.sql(sql, params={"p": csv_path} if "$p" in sql else None)
        stages[name] = stages.get(name, 0.0) + time.perf_counter() - t
    seconds = time.perf_counter() - t0
    rows = con.sql(f"select count(*) from {'t' if design != 'whole' else 'events'}").fetchall()[0][0]
    con.close()
    print(json.dumps({"seconds": seconds, "rows": rows, "stages": {k: round(v, 2) for k, v in stages.items()},
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
