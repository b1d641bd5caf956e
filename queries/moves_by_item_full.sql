-- moves_by_item_full: the whole move list at the end of $date_to (the download of `moves_by_item`, same columns but
-- `total`): one row per copy to send home, by branch sent from, then to, longest there first.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only copies sent from or to these branches (default: all)
select *,
from moves_listed($date_to, $branch_ids)
order by from_branch_id, to_branch_id, on_shelf_since, item_id
