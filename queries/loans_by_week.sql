-- loans_by_week: one row per week (starting Monday) with loans in the period, and its transfer share.
-- A checkout belongs to the branch where it was made, a transfer to the branch where its chain started.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans of these branches (default: all)
with weekly as (  -- the period's loans (loans_in_period), counted per day and branch when they were stored
    select
        date_trunc('week', d.day)::date as week,
        sum(d.checkouts)::bigint as checkouts,
        sum(d.transfers)::bigint as transfers,
        sum(d.checkouts + d.transfers)::bigint as loans,
    from loans_day as d
    cross join period($date_from, $date_to) as p
    where d.day >= p.date_from and d.day <= p.date_to
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or d.branch_no in (
          select b.branch_no, from branch_nos($branch_ids) as b))
    group by week
)
select
    week,
    checkouts,
    transfers,
    loans,
    transfers / nullif(loans, 0) as transfer_share,
from weekly
order by week
