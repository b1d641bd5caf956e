-- loans_by_branch_month: one row per branch and month with loans in the period.
-- A checkout belongs to the branch where it was made; a transfer to the branch where its chain started
-- (empty when the chain's start lies before the data).
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
with taken as (
    select *, from loans_in_period($date_from, $date_to)
)
select
    branch_id,
    date_trunc('month', occurred_at)::date as month,
    count(*) filter (where action = 'checkout') as checkouts,
    count(*) filter (where action = 'transfer') as transfers,
    count(*) as loans,
    count(distinct reader) as active_readers,
from taken
group by branch_id, month
order by branch_id nulls last, month
