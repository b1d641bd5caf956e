-- readers_by_month: one row per month with loans in the period: the active readers (distinct readers who
-- took a copy, by checkout or transfer) and their loans.
-- A checkout belongs to the branch where it was made, a transfer to the branch where its chain started.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans of these branches (default: all)
with taken as (
    select *, from loans_in_period($date_from, $date_to)
),
monthly as (
    select
        date_trunc('month', occurred_at)::date as month,
        count(distinct reader) as active_readers,
        count(*) as loans,
    from taken
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], branch_id)
    group by month
)
select month, active_readers, loans, loans / active_readers as loans_per_reader,
from monthly
order by month
