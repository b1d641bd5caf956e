-- chains_by_holders: one row per number of holders, the drift chains under way during the period that had
-- that many holders at the end of $date_to, by their status then (see chain_holders).
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
select
    holders,
    coalesce(sum(chains) filter (where status = 'returned'), 0)::bigint as returned,
    coalesce(sum(chains) filter (where status = 'open'), 0)::bigint as open,
    coalesce(sum(chains) filter (where status = 'unterminated'), 0)::bigint as unterminated,
    sum(chains)::bigint as chains,
from chain_holders($date_from, $date_to)
where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], start_branch_id)
group by holders
order by holders
