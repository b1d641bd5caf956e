-- chains_longest: one row per drift chain under way during the period, the $top with the most holders at
-- the end of $date_to (then the longest in days). days: from the start to the end, or to $date_to if open.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
-- $top integer: how many chains (default 20)
with scoped as (
    select *,
    from chains_then($date_from, $date_to)
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], start_branch_id)
),
top as (
    select
        *,
        datediff('day', started_at::date, coalesce(ended_then::date, date_to)) as days,
    from scoped
    order by holders_then desc, days desc, item_id, chain_no
    limit coalesce($top::integer, 20)
)
select
    c.item_id,
    c.chain_no,
    i.title,
    c.status_then as status,
    c.partial,
    c.holders_then as holders,
    c.started_at,
    c.ended_then as ended_at,
    c.days,
    s.name as start_branch,
    e.name as end_branch,
from top as c
left join items as i using (item_id)
left join branches as s on s.branch_id = c.start_branch_id
left join branches as e on e.branch_id = case when c.status_then = 'returned' then c.end_branch_id end
order by holders desc, days desc, c.item_id, c.chain_no
