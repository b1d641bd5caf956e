-- new_readers_by_month_branch: one row per month and branch where readers took their first copy in the data
-- (checkout or transfer-in, up to $date_to): how many new readers each branch won that month.
-- A first loan's branch is the checkout's, or for a transfer the branch where the chain started (empty when that
-- start lies before the data). The data's first months also count readers who borrowed before the data began.
-- $date_from date: first day of the months shown (default: first day of the data)
-- $date_to date: last day (default: last day of the data)
-- $branch_ids varchar[]: only readers whose first loan was at these branches (default: all)
with period as (
    select *, from period($date_from, $date_to)
),
firsts as (  -- a struct keeps an empty branch (arg_min skips empty values)
    select reader, arg_min({ 'branch_id': branch_id }, (occurred_at, action)).branch_id as branch_id,
        min(occurred_at) as first_at,
    from loans_in_period(null, $date_to)
    group by reader
),
won as (
    select date_trunc('month', f.first_at)::date as month, f.branch_id, count(*) as new_readers,
    from firsts as f, period as p
    where f.first_at >= p.date_from
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], f.branch_id))
    group by all
)
select w.month, w.branch_id, b.name, b.kind, w.new_readers,
from won as w
left join branches as b using (branch_id)
order by w.month, w.branch_id nulls last
