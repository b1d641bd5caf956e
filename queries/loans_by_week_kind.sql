-- loans_by_week_kind: one row per week (starting Monday) and branch kind with loans in the period.
-- A checkout belongs to the branch where it was made, a transfer to the branch where its chain started;
-- kind is empty for transfers of chains whose start lies before the data.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans of these branches (default: all)
with weekly as (  -- the period's loans (loans_in_period), counted per day and branch when they were stored
    select
        date_trunc('week', d.day)::date as week,
        k.branch_id,
        sum(d.checkouts) as checkouts,
        sum(d.transfers) as transfers,
        sum(d.checkouts + d.transfers) as loans,
    from loans_day as d
    cross join period($date_from, $date_to) as p
    left join branch_keys as k using (branch_no)
    where d.day >= p.date_from and d.day <= p.date_to
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], k.branch_id))
    group by week, k.branch_id
)
select
    w.week,
    b.kind,
    sum(w.checkouts)::bigint as checkouts,
    sum(w.transfers)::bigint as transfers,
    sum(w.loans)::bigint as loans,
from weekly as w
left join branches as b using (branch_id)
group by w.week, b.kind
order by w.week, b.kind nulls last
