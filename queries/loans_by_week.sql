-- loans_by_week: one row per week (starting Monday) with loans in the period, and its transfer share.
-- A checkout belongs to the branch where it was made, a transfer to the branch where its chain started.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans of these branches (default: all)
with taken as (
    select *, from loans_in_period($date_from, $date_to)
),
scoped as (
    select *,
    from taken
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], branch_id)
),
weekly as (
    select
        date_trunc('week', occurred_at)::date as week,
        count(*) filter (where action = 'checkout') as checkouts,
        count(*) filter (where action = 'transfer') as transfers,
        count(*) as loans,
    from scoped
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
