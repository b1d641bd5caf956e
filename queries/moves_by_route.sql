-- moves_by_route: the busiest routes of the move list at the end of $date_to, one row per (branch sent from, branch
-- sent to) with its copies (rows of `moves_by_item_full` counted per route), the $top with the most copies.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only copies sent from or to these branches (default: all)
-- $top integer: how many routes (default 15)
with routes as (  -- counted on the branch ids, then named
    select from_branch_id, to_branch_id, count(*) as copies,
    from copies_to_move($date_to, $branch_ids)
    group by all
)
select
    r.from_branch_id,
    f.name as from_branch,
    r.to_branch_id,
    t.name as to_branch,
    r.copies,
from routes as r
inner join branches as f on f.branch_id = r.from_branch_id
inner join branches as t on t.branch_id = r.to_branch_id
order by r.copies desc, from_branch, to_branch
limit coalesce($top::integer, 15)
