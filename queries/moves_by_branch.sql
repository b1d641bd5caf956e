-- moves_by_branch: the stops of the van run at the end of $date_to, one row per branch with copies to send home
-- (rows of `moves_by_item_full` summed per branch sent from), numbered by branch id: how many copies, and the names
-- of the branches they go to.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only copies sent from or to these branches (default: all)
with routes as (  -- counted on the branch ids, then named
    select from_branch_id, to_branch_id, count(*) as copies,
    from copies_to_move($date_to, $branch_ids)
    group by all
),
destinations as (  -- the names each stop's copies go to, each once
    select distinct r.from_branch_id, t.name,
    from routes as r
    inner join branches as t on t.branch_id = r.to_branch_id
),
stops as (
    select
        r.from_branch_id,
        f.name as from_branch,
        f.address as from_address,
        sum(r.copies)::bigint as copies,
    from routes as r
    inner join branches as f on f.branch_id = r.from_branch_id
    group by all
)
select
    row_number() over (order by s.from_branch_id) as stop,
    s.from_branch_id,
    s.from_branch,
    s.from_address,
    s.copies,
    d.to_branches,
from stops as s
inner join (  -- a sorted list joined: string_agg(... order by) took twice as long at 10M events
    select from_branch_id, array_to_string(list_sort(list(name)), '、') as to_branches,
    from destinations
    group by from_branch_id
) as d using (from_branch_id)
order by stop
