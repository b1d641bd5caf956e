-- dead_stock_by_item: one page of the dead stock at the end of $date_to (see dead_stock), one row per copy: a library
-- copy on a shelf, in stock and not lent for $months months; where it belongs, where it sits and its last loan
-- (empty: never); `total`, the copies the filters keep. The whole list (a download) is `dead_stock_by_item_full`.
-- $date_to date: the day (default: last day of the data)
-- $months integer: months without a loan (default 6)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
-- $sort varchar: `longest` (longest without a loan first; default), `branch` (by home branch), `call_number`
-- $page_size integer: rows in the page (default 100)
-- $skip integer: rows skipped before the page (default 0)
with listed as (
    select
        d.item_id,
        i.title,
        i.call_number,
        i.clc_class,
        d.home_branch_id,
        h.name as home_branch,
        d.branch_id as shelf_branch_id,
        s.name as shelf_branch,
        i.added_on,
        d.last_loan_at::date as last_loan_on,
    from dead_stock($date_to, $months) as d
    inner join items as i using (item_id)
    left join branches as h on h.branch_id = d.home_branch_id
    left join branches as s on s.branch_id = d.branch_id
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], d.home_branch_id)
)
select *, count(*) over () as total,
from listed
order by
    case when $sort::varchar = 'branch' then home_branch_id end,
    case when $sort::varchar = 'call_number' then call_number end,
    last_loan_on nulls first, added_on nulls first, item_id
limit coalesce($page_size::integer, 100) offset coalesce($skip::integer, 0)
