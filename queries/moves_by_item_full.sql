-- moves_by_item_full: the whole move list at the end of $date_to (the download of `moves_by_item`, same columns but
-- `total`): one row per copy to send home, by branch sent from, then to, longest there first.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only copies sent from or to these branches (default: all)
select
    m.item_id,
    i.title,
    i.call_number,
    m.from_branch_id,
    m.from_branch,
    m.from_address,
    m.to_branch_id,
    m.to_branch,
    m.to_address,
    m.on_shelf_since,
    m.days_there,
from copies_to_move($date_to, $branch_ids) as m
inner join items as i using (item_id)
order by m.from_branch_id, m.to_branch_id, m.on_shelf_since, m.item_id
