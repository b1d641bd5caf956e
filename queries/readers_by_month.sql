-- readers_by_month: one row per month with loans in the period: the active readers (distinct readers who
-- took a copy, by checkout or transfer) and their loans.
-- A checkout belongs to the branch where it was made, a transfer to the branch where its chain started.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans of these branches (default: all)
with span as (
    select *, from period($date_from, $date_to)
),
scope as (  -- the branches asked for (none: all, from the monthly numbers of all branches)
    select coalesce(len($branch_ids::varchar[]), 0) = 0 as all_branches,
),
whole as (  -- all branches, the period's whole months: as stored
    select m.month, m.readers, m.checkouts + m.transfers as loans,
    from loans_month as m, period_parts($date_from, $date_to) as p, scope as s
    where s.all_branches and m.all_branches and m.month >= p.full_from and m.month < p.full_to
),
edge as (  -- all branches, the ragged edges
    select date_trunc('month', l.day)::date as month, count(distinct l.reader_no) as readers, count(*) as loans,
    from edge_loans($date_from, $date_to) as l, scope as s
    where s.all_branches
    group by all
),
some_branches as (  -- some branches: from their loans
    select date_trunc('month', l.day)::date as month, count(distinct l.reader_no) as readers, count(*) as loans,
    from loans as l, span as p, scope as s
    where not s.all_branches and l.day >= p.date_from and l.day <= p.date_to
      and l.branch_no in (select b.branch_no, from branch_nos($branch_ids) as b)
    group by all
),
monthly as (
    select *, from whole
    union all
    select *, from edge
    union all
    select *, from some_branches
)
select
    month,
    readers::bigint as active_readers,
    loans::bigint as loans,
    loans / readers as loans_per_reader,
from monthly
order by month
