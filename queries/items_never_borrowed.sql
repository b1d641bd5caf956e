-- items_never_borrowed: one page of the weeding list (see never_borrowed_page), one row per library copy (owner =
-- library) added by $date_to and never borrowed (no checkout or transfer) up to that day; `total`: the copies the
-- filters keep. The whole list (a download) is `items_never_borrowed_full`.
-- $date_to date: the day to look back from (default: last day of the data)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
-- $sort varchar: `longest` (longest in stock first; default), `branch` (by home branch), `call_number`
-- $page_size integer: rows in the page (default 100)
-- $skip integer: rows skipped before the page (default 0)
select *,
from never_borrowed_page($date_to, $branch_ids, $sort, coalesce($page_size::integer, 100), $skip::integer)
order by
    case when $sort::varchar = 'branch' then home_branch_id end,
    case when $sort::varchar = 'call_number' then call_number end,
    added_on nulls first, item_id
