-- turnover_by_branch: one row per branch, the loans of its copies in the period against its volumes.
-- A branch's copies are the items whose home branch it is; turnover = their loans / the branch's volumes.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only these branches (default: all)
with copies as (
    select home_branch_id as branch_id, count(*) as copies,
    from items
    group by home_branch_id
),
loans as (  -- the loans of the period (loans_in_period) of each home branch's copies
    select home_branch_id as branch_id, sum(loans)::bigint as loans,
    from home_loans_in_period($date_from, $date_to)
    group by home_branch_id
),
per_branch as (
    select c.branch_id, c.copies, coalesce(l.loans, 0)::bigint as loans,
    from copies as c
    left join loans as l using (branch_id)
)
select
    b.branch_id,
    b.name,
    b.kind,
    b.volumes,
    coalesce(c.copies, 0) as copies,
    coalesce(c.loans, 0) as loans,
    coalesce(c.loans, 0) / nullif(b.volumes, 0) as turnover,
from branches as b
left join per_branch as c using (branch_id)
where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], b.branch_id)
order by turnover desc nulls last, b.branch_id
