-- loans_by_owner: one row per owner of copies (library; reader = home-shared copies, 家藏共享): the copies,
-- how many were borrowed in the period, and their loans.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
with copies as (
    select item_id, owner,
    from items
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], home_branch_id)
),
loans_per_item as (
    select
        item_id,
        count(*) filter (where action = 'checkout') as checkouts,
        count(*) filter (where action = 'transfer') as transfers,
    from loans_in_period($date_from, $date_to)
    group by item_id
)
select
    c.owner,
    count(*) as copies,
    count(l.item_id) as copies_borrowed,
    coalesce(sum(l.checkouts), 0)::bigint as checkouts,
    coalesce(sum(l.transfers), 0)::bigint as transfers,
    coalesce(sum(l.checkouts + l.transfers), 0)::bigint as loans,
    coalesce(sum(l.checkouts + l.transfers), 0) / count(*) as loans_per_copy,
from copies as c
left join loans_per_item as l using (item_id)
group by c.owner
order by c.owner
