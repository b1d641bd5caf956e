-- items_never_borrowed: one page of the weeding list, one row per library copy (owner = library) added by $date_to
-- and never borrowed (no checkout or transfer) up to that day; `total`: the copies the filters keep. The whole list
-- (a download) is `items_never_borrowed_full`.
-- $date_to date: the day to look back from (default: last day of the data)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
-- $sort varchar: `longest` (longest in stock first; default), `branch` (by home branch), `call_number`
-- $page_size integer: rows in the page (default 100)
-- $skip integer: rows skipped before the page (default 0)
with period as (
    select *, from period(null, $date_to)
),
borrowed as (  -- every loan up to the day
    select item_id,
    from items_in_period(null, $date_to)
),
listed as (
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
)
select *, count(*) over () as total,
from listed
order by
    case when $sort::varchar = 'branch' then home_branch_id end,
    case when $sort::varchar = 'call_number' then call_number end,
    added_on nulls first, item_id
limit coalesce($page_size::integer, 100) offset coalesce($skip::integer, 0)
