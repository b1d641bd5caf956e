-- moves_waiting: one row for the move list's cards at the end of $date_to: the van's stops (branches with copies to
-- send home), the copies, and the median days they have sat on a shelf away from home (the rows of
-- `moves_by_item_full`, summed).
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only copies sent from or to these branches (default: all)
select
    count(distinct s.branch_id) as van_stop_count,
    count(*) as copies,
    round(median(datediff('day', s.since::date, p.date_to)))::integer as move_days_median,
from copy_places($date_to) as s
cross join period(null, $date_to) as p
inner join branches as t on t.branch_id = s.home_branch_id
where s.place = 'shelf' and s.branch_id <> s.home_branch_id
  and (t.closed_on is null or t.closed_on > p.date_to)
  and (coalesce(len($branch_ids::varchar[]), 0) = 0
       or list_contains($branch_ids::varchar[], s.branch_id)
       or list_contains($branch_ids::varchar[], s.home_branch_id))
