-- moves_by_branch: the stops of the van run at the end of $date_to, one row per branch with copies to send home
-- (rows of `moves_by_item_full` summed per branch sent from), numbered by branch id: how many copies, and the names
-- of the branches they go to.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only copies sent from or to these branches (default: all)
with moves as (
    select
        s.branch_id as from_branch_id,
        t.name as to_branch,
    from copy_places($date_to) as s
    cross join period(null, $date_to) as p
    inner join branches as t on t.branch_id = s.home_branch_id
    where s.place = 'shelf' and s.branch_id <> s.home_branch_id
      and (t.closed_on is null or t.closed_on > p.date_to)
      and (coalesce(len($branch_ids::varchar[]), 0) = 0
           or list_contains($branch_ids::varchar[], s.branch_id)
           or list_contains($branch_ids::varchar[], s.home_branch_id))
),
stops as (
    select
        m.from_branch_id,
        f.name as from_branch,
        f.address as from_address,
        count(*) as copies,
        string_agg(distinct m.to_branch, '、' order by m.to_branch) as to_branches,
    from moves as m
    inner join branches as f on f.branch_id = m.from_branch_id
    group by all
)
select
    row_number() over (order by from_branch_id) as stop,
    from_branch_id,
    from_branch,
    from_address,
    copies,
    to_branches,
from stops
order by stop
