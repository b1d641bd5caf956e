-- returns_by_branch_pair: the $top (start branch, return branch) pairs with the most cross-branch returns, one row
-- each: the chains returned in the period at a branch other than the one where they started; `pairs`, how many pairs
-- had any.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only chains that started or ended at these branches (default: all)
-- $top integer: how many pairs (default 30)
with period as (
    select *, from period($date_from, $date_to)
),
crossed as materialized (  -- worked out once, for the top pairs and their count
    select c.start_branch_id, c.end_branch_id, count(*) as chains,
    from chains as c, period as p
    where c.status = 'returned' and c.ended_at >= p.date_from and c.ended_at < p.end_ts
      and c.start_branch_id <> c.end_branch_id
      and (coalesce(len($branch_ids::varchar[]), 0) = 0
           or list_contains($branch_ids::varchar[], c.start_branch_id)
           or list_contains($branch_ids::varchar[], c.end_branch_id))
    group by c.start_branch_id, c.end_branch_id
),
top as (
    select *, (select count(*), from crossed) as pairs,
    from crossed
    order by chains desc, start_branch_id, end_branch_id
    limit coalesce($top::integer, 30)
)
select
    x.start_branch_id,
    coalesce(s.name, x.start_branch_id) as start_branch,
    x.end_branch_id,
    coalesce(e.name, x.end_branch_id) as end_branch,
    x.chains,
    x.pairs,
from top as x
left join branches as s on s.branch_id = x.start_branch_id
left join branches as e on e.branch_id = x.end_branch_id
order by x.chains desc, x.start_branch_id, x.end_branch_id
