-- chain_kpis: one row, the drift-chain numbers of the period. A chain counts when it was under way during
-- the period; its status is the one it had at the end of $date_to (a chain returned later was still open).
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
with period as (
    select * from period($date_from, $date_to)
),
scoped as (
    select *
    from chains_then($date_from, $date_to)
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], start_branch_id)
),
handed_on as (
    select count(*) as transfers,
    from chain_transfers as t, period as p
    where t.occurred_at >= p.date_from and t.occurred_at < p.end_ts
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], t.start_branch_id))
)
select
    count(*) filter (where status_then = 'returned') as chains_returned,
    count(*) filter (where status_then = 'open') as copies_out,
    count(*) filter (where status_then = 'open' and holders_then > 1) as copies_adrift,
    count(*) filter (where status_then = 'unterminated') as chains_unterminated,
    count(*) filter (where partial) as chains_partial,
    count(*) filter (where status_then = 'returned' and start_branch_id <> end_branch_id) as cross_branch_returns,
    avg(holders_then) filter (where status_then = 'returned') as mean_holders,
    avg(epoch(ended_at - started_at) / 86400.0 / holders_then) filter (where status_then = 'returned' and not partial)
        as days_per_holder,
    (select transfers from handed_on) as returns_avoided,
from scoped
