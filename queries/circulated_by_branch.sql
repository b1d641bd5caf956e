-- circulated_by_branch: one row per branch, the share of its collection that circulated: its copies (home branch,
-- added by $date_to) and how many of them were lent (checkout or transfer) at least once in the period
-- (copies_borrowed).
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only these branches (default: all)
with period as (
    select *, from period($date_from, $date_to)
),
per_branch as (
    select i.home_branch_id as branch_id, count(*) as copies, count(*) filter (where i.borrowed) as copies_circulated,
    from copies_borrowed($date_from, $date_to) as i
    cross join period as p
    where i.added_on is null or i.added_on <= p.date_to
    group by i.home_branch_id
)
select
    b.branch_id,
    b.name,
    b.kind,
    coalesce(c.copies, 0) as copies,
    coalesce(c.copies_circulated, 0) as copies_circulated,
    c.copies_circulated / nullif(c.copies, 0) as share_circulated,
from branches as b
left join per_branch as c using (branch_id)
where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], b.branch_id)
order by share_circulated desc nulls last, b.branch_id
