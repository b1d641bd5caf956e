-- stock_by_branch: one row per branch, where its copies and the copies on its shelves were at the end of
-- $date_to (see copy_places): its own copies, those on its own shelves, those on another branch's shelves
-- (returned there by drifting readers), those out on loan; and the copies on its shelves that belong elsewhere.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only these branches (default: all)
with places as (
    select *, from copy_places($date_to)
),
own as (
    select
        home_branch_id as branch_id,
        count(*) as copies_own,
        count(*) filter (where place = 'shelf' and branch_id = home_branch_id) as own_here,
        count(*) filter (where place = 'shelf' and branch_id <> home_branch_id) as own_away,
        count(*) filter (where place = 'on_loan') as own_on_loan,
    from places
    group by home_branch_id
),
foreign_copies as (
    select branch_id, count(*) as foreign_here,
    from places
    where place = 'shelf' and branch_id is distinct from home_branch_id
    group by branch_id
)
select
    b.branch_id,
    b.name,
    b.kind,
    coalesce(o.copies_own, 0) as copies_own,
    coalesce(o.own_here, 0) as own_here,
    coalesce(o.own_away, 0) as own_away,
    coalesce(o.own_on_loan, 0) as own_on_loan,
    coalesce(f.foreign_here, 0) as foreign_here,
from branches as b
left join own as o using (branch_id)
left join foreign_copies as f using (branch_id)
where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], b.branch_id)
order by foreign_here + own_away desc, b.branch_id
