-- circulation_by_period_branch: one row per period ($unit: month, week from Monday, or day) and branch with any
-- circulation in the period: checkouts, transfers, loans (the two together), renewals and returns.
-- A checkout and a return belong to the branch where they were made; a transfer and a renewal to the branch
-- where the copy's chain started (empty when that start lies before the data). From the counts per day and branch
-- (loans_day, actions_day).
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $unit varchar: 'month' (default), 'week' or 'day'
-- $branch_ids varchar[]: only these branches (default: all)
with period as (
    select *, from period($date_from, $date_to)
),
days as (
    select d.day, d.branch_no, d.checkouts, d.transfers, 0 as renewals, 0 as returns,
    from loans_day as d, period as p
    where d.day >= p.date_from and d.day <= p.date_to
    union all
    select a.day, a.branch_no, 0, 0, a.renewals, a.returns,
    from actions_day as a, period as p
    where a.day >= p.date_from and a.day <= p.date_to
),
counted as (  -- on the branches' numbers, named after: the names join the counted rows, not every day's
    select
        date_trunc(coalesce($unit::varchar, 'month'), d.day)::date as period,
        d.branch_no,
        sum(d.checkouts)::bigint as checkouts,
        sum(d.transfers)::bigint as transfers,
        sum(d.renewals)::bigint as renewals,
        sum(d.returns)::bigint as returns,
    from days as d
    where coalesce(len($branch_ids::varchar[]), 0) = 0
       or d.branch_no in (select c.branch_no, from branch_nos($branch_ids) as c)
    group by all
)
select
    c.period,
    k.branch_id,
    b.name,
    b.kind,
    c.checkouts,
    c.transfers,
    c.checkouts + c.transfers as loans,
    c.renewals,
    c.returns,
from counted as c
left join branch_keys as k using (branch_no)
left join branches as b using (branch_id)
order by c.period, k.branch_id nulls last
