-- moves_waiting: one row for the move list's cards at the end of $date_to: the van's stops (branches with copies to
-- send home), the copies, and the median days they have sat on a shelf away from home (the rows of
-- `moves_by_item_full`, summed).
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only copies sent from or to these branches (default: all)
select
    count(distinct from_branch_id) as van_stop_count,
    count(*) as copies,
    round(median(days_there))::integer as move_days_median,
from copies_to_move($date_to, $branch_ids)
