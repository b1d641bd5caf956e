-- dead_stock_by_item_full: every copy of dead stock at the end of $date_to the filters keep (see dead_stock_listed;
-- the download of `dead_stock_by_item`, same columns but `total`), longest without a loan first.
-- $date_to date: the day (default: last day of the data)
-- $months integer: months without a loan (default 6)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
select *,
from dead_stock_listed($date_to, $months, $branch_ids)
order by last_loan_on nulls first, added_on nulls first, item_id
