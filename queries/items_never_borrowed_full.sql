-- items_never_borrowed_full: the whole weeding list at $date_to (see never_borrowed; the download of
-- `items_never_borrowed`, same columns but `total`), longest in stock first.
-- $date_to date: the day to look back from (default: last day of the data)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
select *,
from never_borrowed($date_to, $branch_ids)
order by added_on nulls first, item_id
