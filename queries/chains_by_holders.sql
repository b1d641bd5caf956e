-- chains_by_holders: one row per number of holders, the drift chains under way during the period that had
-- that many holders at the end of $date_to, by their status then: those ended during the period from chains_ended
-- (kept per month), those still open then from chains_open.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
with chosen as (
    select coalesce(len($branch_ids::varchar[]), 0) = 0 as every_branch,
),
counted as (
    select e.holders::bigint as holders, e.status, sum(e.chains) as chains,
    from chains_ended($date_from, $date_to) as e, chosen as c
    where c.every_branch or list_contains($branch_ids::varchar[], e.start_branch_id)
    group by all
    union all
    select o.holders_then, 'open', count(*),
    from chains_open($date_to) as o, chosen as c
    where c.every_branch or list_contains($branch_ids::varchar[], o.start_branch_id)
    group by all
)
select
    holders,
    coalesce(sum(chains) filter (where status = 'returned'), 0)::bigint as returned,
    coalesce(sum(chains) filter (where status = 'open'), 0)::bigint as open,
    coalesce(sum(chains) filter (where status = 'unterminated'), 0)::bigint as unterminated,
    sum(chains)::bigint as chains,
from counted
group by holders
order by holders
