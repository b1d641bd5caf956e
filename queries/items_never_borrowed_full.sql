-- items_never_borrowed_full: the whole weeding list at $date_to (the download of `items_never_borrowed`, same columns
-- but `total`), longest in stock first.
-- $date_to date: the day to look back from (default: last day of the data)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
with period as (
    select *, from period(null, $date_to)
),
borrowed as (  -- every loan up to the day
    select item_id,
    from items_in_period(null, $date_to)
)
select
    i.item_id,
    i.title,
    i.author,
    i.call_number,
    i.clc_class,
    i.home_branch_id,
    b.name as home_branch,
    i.added_on,
    datediff('day', i.added_on, p.date_to) as days_in_stock,
from items as i
cross join period as p
left join branches as b on b.branch_id = i.home_branch_id
anti join borrowed as x on x.item_id = i.item_id
where i.owner = 'library'
  and (i.added_on is null or i.added_on <= p.date_to)
  and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], i.home_branch_id))
order by i.added_on nulls first, i.item_id
