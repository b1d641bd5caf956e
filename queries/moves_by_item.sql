-- moves_by_item: one page of the move list, one row per copy on a shelf at the end of $date_to at a branch other than
-- its home branch (see copy_places): send it from where it sits to its home branch. Copies whose home branch is
-- closed by then are left out (nowhere to send them). `total`: the copies the filters keep. The whole list (the van
-- sheet, a download) is `moves_by_item_full`; the stops of the van run are `moves_by_branch`.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only copies sent from or to these branches (default: all)
-- $sort varchar: `route` (by branch sent from, then to, longest there first; default), `longest` (longest
-- there first)
-- $page_size integer: rows in the page (default 100)
-- $skip integer: rows skipped before the page (default 0)
with listed as (
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
    cross join period(null, $date_to) as p
    inner join items as i using (item_id)
    inner join branches as f on f.branch_id = s.branch_id
    inner join branches as t on t.branch_id = s.home_branch_id
    where s.place = 'shelf' and s.branch_id <> s.home_branch_id
      and (t.closed_on is null or t.closed_on > p.date_to)
      and (coalesce(len($branch_ids::varchar[]), 0) = 0
           or list_contains($branch_ids::varchar[], s.branch_id)
           or list_contains($branch_ids::varchar[], s.home_branch_id))
)
select *, count(*) over () as total,
from listed
order by
    case when $sort::varchar = 'longest' then days_there end desc nulls last,
    from_branch_id, to_branch_id, on_shelf_since, item_id
limit coalesce($page_size::integer, 100) offset coalesce($skip::integer, 0)
