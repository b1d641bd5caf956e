-- moves_by_branch: the stops of the van run at the end of $date_to, one row per branch with copies to send home
-- (rows of `moves_by_item_full` summed per branch sent from), numbered by branch id: how many copies, and the names
-- of the branches they go to.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only copies sent from or to these branches (default: all)
with names as materialized (  -- the branches' names in order, each once
    select list(name order by name) as names, from (select distinct name, from branches) as b
),
ranked as materialized (  -- each branch's name as its place in that order
    select b.branch_id, list_position(n.names, b.name) as name_at,
    from branches as b, names as n
),
stops as (
    select
        m.from_branch_id,
        count(*) as copies,
        list(distinct t.name_at order by t.name_at) as to_at,  -- integers sorted: names sorted as text took longer
    from copies_to_move($date_to, $branch_ids) as m
    inner join ranked as t on t.branch_id = m.to_branch_id
    group by m.from_branch_id
),
named as materialized (  -- the names each stop's copies go to, each once, in order
    select s.from_branch_id, s.copies, array_to_string(list_select(n.names, s.to_at), '、') as to_branches,
    from stops as s, names as n
)
select
    row_number() over (order by s.from_branch_id) as stop,
    s.from_branch_id,
    f.name as from_branch,
    f.address as from_address,
    s.copies,
    s.to_branches,
from named as s
inner join branches as f on f.branch_id = s.from_branch_id
order by stop
