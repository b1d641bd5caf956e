-- chains_longest: one row per drift chain under way during the period, the $top with the most holders at
-- the end of $date_to (then the longest in days). days: from the start to the end, or to $date_to if open.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
-- $top integer: how many chains (default 20)
with period as (
    select * from period($date_from, $date_to)
),
transfers_then as (
    select t.item_id, t.chain_no, count(*) as transfers,
    from chain_transfers as t, period as p
    where t.occurred_at < p.end_ts
    group by t.item_id, t.chain_no
),
chains_then as (
    select
        c.*,
        case when c.ended_at < p.end_ts then c.status else 'open' end as status_then,
        case when c.ended_at < p.end_ts then c.ended_at end as ended_then,
        coalesce(t.transfers, 0) + 1 as holders_then,
        p.date_to,
    from chains as c
    cross join period as p
    left join transfers_then as t using (item_id, chain_no)
    where c.started_at < p.end_ts and (c.ended_at is null or c.ended_at >= p.date_from)
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], c.start_branch_id))
),
top as (
    select
        *,
        datediff('day', started_at::date, coalesce(ended_then::date, date_to)) as days,
    from chains_then
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
