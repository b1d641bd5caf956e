-- items_never_borrowed: one page of the weeding list (see never_borrowed), one row per library copy (owner = library)
-- added by $date_to and never borrowed (no checkout or transfer) up to that day; `total`: the copies the filters keep.
-- The whole list (a download) is `items_never_borrowed_full`.
-- $date_to date: the day to look back from (default: last day of the data)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
-- $sort varchar: `longest` (longest in stock first; default), `branch` (by home branch), `call_number`
-- $page_size integer: rows in the page (default 100)
-- $skip integer: rows skipped before the page (default 0)
with listed as materialized (  -- worked out once, for the page and the total
    select *, from never_borrowed($date_to, $branch_ids)
),
page as (  -- the best rows kept as the list is read (a top-N), never the whole list sorted
    select *,
    from listed
    order by
        case when $sort::varchar = 'branch' then home_branch_id end,
        case when $sort::varchar = 'call_number' then call_number end,
        added_on nulls first, item_id
    limit coalesce($page_size::integer, 100) offset coalesce($skip::integer, 0)
)
select *, (select count(*), from listed) as total,
from page
order by
    case when $sort::varchar = 'branch' then home_branch_id end,
    case when $sort::varchar = 'call_number' then call_number end,
    added_on nulls first, item_id
