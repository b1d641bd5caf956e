-- loans_by_owner: one row per owner of copies (library; reader = home-shared copies, 家藏共享): the copies,
-- how many were borrowed in the period, and their loans.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
with copies as (
    select owner, count(*) as copies, count(*) filter (where borrowed) as copies_borrowed,
    from copies_borrowed($date_from, $date_to)
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], home_branch_id)
    group by owner
),
loans as (  -- the loans of the period (loans_in_period) of each owner's copies
    select owner, sum(checkouts) as checkouts, sum(transfers) as transfers,
    from home_loans_in_period($date_from, $date_to)
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], home_branch_id)
    group by owner
)
select
    c.owner,
    c.copies,
    c.copies_borrowed,
    coalesce(l.checkouts, 0)::bigint as checkouts,
    coalesce(l.transfers, 0)::bigint as transfers,
    coalesce(l.checkouts + l.transfers, 0)::bigint as loans,
    coalesce(l.checkouts + l.transfers, 0) / c.copies as loans_per_copy,
from copies as c
left join loans as l using (owner)
order by c.owner
