-- moves_by_branch: the stops of the van run at the end of $date_to, one row per branch with copies to send home
-- (rows of `moves_by_item_full` summed per branch sent from), numbered by branch id: how many copies, and the names
-- of the branches they go to.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only copies sent from or to these branches (default: all)
with stops as (
    select
        from_branch_id,
        from_branch,
        from_address,
        count(*) as copies,
        string_agg(distinct to_branch, '、' order by to_branch) as to_branches,
    from copies_to_move($date_to, $branch_ids)
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
