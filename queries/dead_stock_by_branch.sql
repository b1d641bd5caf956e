-- dead_stock_by_branch: one row per branch, its library copies (home branch, added by $date_to) and how many of
-- them are dead stock at the end of $date_to: on a shelf, in stock and not lent for $months months (see dead_stock).
-- $date_to date: the day (default: last day of the data)
-- $months integer: months without a loan (default 6)
-- $branch_ids varchar[]: only these branches (default: all)
with period as (
    select *, from period(null, $date_to)
),
copies as (
    select i.home_branch_id as branch_id, count(*) as copies,
    from items as i, period as p
    where i.owner = 'library' and (i.added_on is null or i.added_on <= p.date_to)
    group by i.home_branch_id
),
dead as (
    select home_branch_id as branch_id, count(*) as copies_dead,
    from dead_stock($date_to, $months)
    group by home_branch_id
)
select
    b.branch_id,
    b.name,
    b.kind,
    coalesce(c.copies, 0) as copies,
    coalesce(d.copies_dead, 0) as copies_dead,
    coalesce(d.copies_dead, 0) / nullif(c.copies, 0) as dead_share,
from branches as b
left join copies as c using (branch_id)
left join dead as d using (branch_id)
where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], b.branch_id)
order by copies_dead desc, b.branch_id
