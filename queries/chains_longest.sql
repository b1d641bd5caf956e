-- chains_longest: one row per drift chain under way during the period, the $top with the most holders at
-- the end of $date_to (then the longest in days). days: from the start to the end, or to $date_to if open.
-- Only the chains with at least as many holders as the $top-th (counted as chain_holders counts them) are read, the
-- long ones from chains_long.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
-- $top integer: how many chains (default 20)
with period as (
    select *, from period($date_from, $date_to)
),
open as materialized (  -- the chains still open at the end of $date_to, read once
    select o.*,
    from chains_open($date_to) as o
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], o.start_branch_id)
),
counted as (
    select e.holders::bigint as holders, sum(e.chains) as chains,
    from chains_ended($date_from, $date_to) as e
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], e.start_branch_id)
    group by all
    union all
    select o.holders_then, count(*),
    from open as o
    group by all
),
threshold as (  -- the most holders h such that at least $top chains had h or more (0: fewer chains than $top)
    select coalesce(max(c.holders), 0) as holders,
    from (
        select holders, sum(sum(chains)) over (order by holders desc) as at_least, from counted group by holders
    ) as c
    where c.at_least >= coalesce($top::integer, 20)
),
scoped as (  -- the chains ended during the period as stored (the long ones from chains_long, the others from the
            -- chains: a threshold of long_chain_holders() or more reads none of these), and those still open then
            -- as they stood
    select
        c.item_id, c.chain_no, c.status as status_then, c.partial, c.holders as holders_then, c.started_at,
        c.ended_at as ended_then, c.start_branch_id, c.end_branch_id, p.date_to,
    from chains_long as c, period as p
    where c.ended_at < p.end_ts and c.ended_at >= p.date_from and c.holders >= (select t.holders, from threshold as t)
    union all
    select
        c.item_id, c.chain_no, c.status, c.partial, c.holders, c.started_at, c.ended_at, c.start_branch_id,
        c.end_branch_id, p.date_to,
    from chains as c, period as p
    where c.ended_at < p.end_ts and c.ended_at >= p.date_from and c.holders >= (select t.holders, from threshold as t)
      and c.holders < long_chain_holders()
    union all
    select
        o.item_id, o.chain_no, 'open', o.partial, o.holders_then, o.started_at, null, o.start_branch_id,
        o.end_branch_id, o.date_to,
    from open as o
    where o.holders_then >= (select t.holders, from threshold as t)
),
top as (
    select
        *,
        datediff('day', started_at::date, coalesce(ended_then::date, date_to)) as days,
    from scoped
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], start_branch_id)
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
