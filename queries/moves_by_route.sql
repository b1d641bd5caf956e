-- moves_by_route: the busiest routes of the move list at the end of $date_to, one row per (branch sent from, branch
-- sent to) with its copies (rows of `moves_by_item_full` counted per route), the $top with the most copies.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only copies sent from or to these branches (default: all)
-- $top integer: how many routes (default 15)
with moves as (
    select
        s.branch_id as from_branch_id,
        s.home_branch_id as to_branch_id,
    from copy_places($date_to) as s
    cross join period(null, $date_to) as p
    inner join branches as t on t.branch_id = s.home_branch_id
    where s.place = 'shelf' and s.branch_id <> s.home_branch_id
      and (t.closed_on is null or t.closed_on > p.date_to)
      and (coalesce(len($branch_ids::varchar[]), 0) = 0
           or list_contains($branch_ids::varchar[], s.branch_id)
           or list_contains($branch_ids::varchar[], s.home_branch_id))
),
routes as (
    select from_branch_id, to_branch_id, count(*) as copies,
    from moves
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
order by r.copies desc, f.name, t.name
limit coalesce($top::integer, 15)
