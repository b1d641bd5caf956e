-- loans_by_week_kind: one row per week (starting Monday) and branch kind with loans in the period.
-- A checkout belongs to the branch where it was made, a transfer to the branch where its chain started;
-- kind is empty for transfers of chains whose start lies before the data.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans of these branches (default: all)
with taken as (
    select *, from loans_in_period($date_from, $date_to)
),
weekly as (  -- per branch first: the join to branches is then over few rows
    select
        date_trunc('week', occurred_at)::date as week,
        branch_id,
        count(*) filter (where action = 'checkout') as checkouts,
        count(*) filter (where action = 'transfer') as transfers,
        count(*) as loans,
    from taken
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], branch_id)
    group by week, branch_id
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
