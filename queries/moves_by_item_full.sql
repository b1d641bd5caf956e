-- moves_by_item_full: the whole move list at the end of $date_to (the download of `moves_by_item`, same columns but
-- `total`): one row per copy to send home, by branch sent from, then to, longest there first.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only copies sent from or to these branches (default: all)
with period as (
    select *, from period(null, $date_to)
)
select
    s.item_id,
    i.title,
    i.call_number,
    s.branch_id as from_branch_id,
    f.name as from_branch,
    f.address as from_address,
    s.home_branch_id as to_branch_id,
    t.name as to_branch,
    t.address as to_address,
    s.since::date as on_shelf_since,
    datediff('day', s.since::date, p.date_to) as days_there,
from copy_places($date_to) as s
cross join period as p
inner join items as i using (item_id)
inner join branches as f on f.branch_id = s.branch_id
inner join branches as t on t.branch_id = s.home_branch_id
where s.place = 'shelf' and s.branch_id <> s.home_branch_id
  and (t.closed_on is null or t.closed_on > p.date_to)
  and (coalesce(len($branch_ids::varchar[]), 0) = 0
       or list_contains($branch_ids::varchar[], s.branch_id)
       or list_contains($branch_ids::varchar[], s.home_branch_id))
order by from_branch_id, to_branch_id, on_shelf_since, s.item_id
