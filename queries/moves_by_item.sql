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
select *,
from moves_page($date_to, $branch_ids, $sort, coalesce($page_size::integer, 100), $skip::integer)
order by
    case when $sort::varchar = 'longest' then days_there end desc nulls last,
    from_branch_id, to_branch_id, on_shelf_since, item_id
