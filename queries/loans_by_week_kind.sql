-- loans_by_week_kind: one row per week (starting Monday) and branch kind with loans in the period.
-- A checkout belongs to the branch where it was made, a transfer to the branch where its chain started;
-- kind is empty for transfers of chains whose start lies before the data.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans of these branches (default: all)
with kinds as (  -- each branch number's kind (empty: a branch not in the branches file), and only these branches
    select k.branch_no, b.kind,
    from branch_keys as k
    left join branches as b using (branch_id)
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], k.branch_id)
)
select  -- the period's loans (loans_in_period), counted per day and branch when they were stored
    date_trunc('week', d.day)::date as week,
    k.kind,
    sum(d.checkouts)::bigint as checkouts,
    sum(d.transfers)::bigint as transfers,
    sum(d.checkouts + d.transfers)::bigint as loans,
from loans_day as d
cross join period($date_from, $date_to) as p
left join kinds as k using (branch_no)
where d.day >= p.date_from and d.day <= p.date_to
  and (coalesce(len($branch_ids::varchar[]), 0) = 0 or k.branch_no is not null)
group by week, k.kind
order by week, k.kind nulls last
