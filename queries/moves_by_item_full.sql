-- moves_by_item_full: the whole move list at the end of $date_to (the download of `moves_by_item`, same columns but
-- `total`): one row per copy to send home, by branch sent from, then to, longest there first. At the data's last day
-- (the default) it is the stored move list (table moves_list) of the copies in stock by then whose home branch is
-- still open, with the branches' names; any other day is worked out (moves_listed).
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only copies sent from or to these branches (default: all)
select
    m.item_id,
    m.title,
    m.call_number,
    m.from_branch_id,
    f.name as from_branch,
    f.address as from_address,
    m.to_branch_id,
    t.name as to_branch,
    t.address as to_address,
    m.on_shelf_since,
    datediff('day', m.on_shelf_since, p.date_to) as days_there,
from moves_list as m
cross join period(null, null) as p
inner join branches as f on f.branch_id = m.from_branch_id
inner join branches as t on t.branch_id = m.to_branch_id
where $date_to is null
  and (t.closed_on is null or t.closed_on > p.date_to) and (m.added_on is null or m.added_on <= p.date_to)
  and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], m.from_branch_id)
       or list_contains($branch_ids::varchar[], m.to_branch_id))
union all
select *,
from moves_listed($date_to, $branch_ids)
where $date_to is not null
order by from_branch_id, to_branch_id, on_shelf_since, item_id
