-- dead_stock_by_item: one page of the dead stock at the end of $date_to (see dead_stock_page), one row per copy: a
-- library copy on a shelf, in stock and not lent for $months months; where it belongs, where it sits and its last loan
-- (empty: never); `total`, the copies the filters keep. The whole list (a download) is `dead_stock_by_item_full`.
-- $date_to date: the day (default: last day of the data)
-- $months integer: months without a loan (default 6)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
-- $sort varchar: `longest` (longest without a loan first; default), `branch` (by home branch), `call_number`
-- $page_size integer: rows in the page (default 100)
-- $skip integer: rows skipped before the page (default 0)
select *,
from dead_stock_page($date_to, $months, $branch_ids, $sort, coalesce($page_size::integer, 100), $skip::integer)
order by
    case when $sort::varchar = 'branch' then home_branch_id end,
    case when $sort::varchar = 'call_number' then call_number end,
    last_loan_on nulls first, added_on nulls first, item_id
