-- dead_stock_by_item_full: every copy of dead stock at the end of $date_to the filters keep (the download of
-- `dead_stock_by_item`, same columns but `total`), longest without a loan first.
-- $date_to date: the day (default: last day of the data)
-- $months integer: months without a loan (default 6)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
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
order by last_loan_on nulls first, i.added_on nulls first, d.item_id
