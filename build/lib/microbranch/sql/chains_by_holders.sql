-- chains_by_holders: one row per number of holders, the drift chains under way during the period that had
-- that many holders at the end of $date_to, by their status then.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
with scoped as (
    select *,
    from chains_then($date_from, $date_to)
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], start_branch_id)
)
select
    holders_then as holders,
    count(*) filter (where status_then = 'returned') as returned,
    count(*) filter (where status_then = 'open') as open,
    count(*) filter (where status_then = 'unterminated') as unterminated,
    count(*) as chains,
from scoped
group by holders_then
order by holders
