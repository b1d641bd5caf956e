-- dead_stock_by_branch: one row per branch, its library copies (home branch, added by $date_to) and how many of
-- them are dead stock at the end of $date_to: on a shelf, in stock and not lent for $months months (see dead_stock).
-- A branch opened within those months is too new to judge: `too_new`, and its dead stock left empty (not 0).
-- $date_to date: the day (default: last day of the data)
-- $months integer: months without a loan (default 6)
-- $branch_ids varchar[]: only these branches (default: all)
with period as (
    select *, (date_to - to_months(coalesce($months::integer, 6)))::date as cutoff,
    from period(null, $date_to)
),
copies as (
    select i.home_branch_id as branch_id, count(*) as copies,
    from items as i, period as p
    where i.owner = 'library' and (i.added_on is null or i.added_on <= p.date_to)
    group by i.home_branch_id
),
judged as (
    select b.branch_id, b.name, b.kind, coalesce(b.opened_on > p.cutoff, false) as too_new,
    from branches as b, period as p
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
    case when not too_new then coalesce(d.copies_dead, 0) end as copies_dead,
    case when not too_new then coalesce(d.copies_dead, 0) / nullif(c.copies, 0) end as dead_share,
    b.too_new,
from judged as b
left join copies as c using (branch_id)
left join dead as d using (branch_id)
where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], b.branch_id)
order by b.too_new, copies_dead desc, b.branch_id
