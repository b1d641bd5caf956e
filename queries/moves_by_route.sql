-- moves_by_route: the busiest routes of the move list at the end of $date_to, one row per (branch sent from, branch
-- sent to) with its copies (rows of `moves_by_item_full` counted per route), the $top with the most copies.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only copies sent from or to these branches (default: all)
-- $top integer: how many routes (default 15)
select
    from_branch_id,
    from_branch,
    to_branch_id,
    to_branch,
    count(*) as copies,
from copies_to_move($date_to, $branch_ids)
group by all
order by copies desc, from_branch, to_branch
limit coalesce($top::integer, 15)
