-- chain_kpis: one row, the drift-chain numbers of the period. A chain counts when it was under way during
-- the period; its status is the one it had at the end of $date_to (a chain returned later was still open).
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
with period as (
    select *, from period($date_from, $date_to)
),
scoped as (
    select *,
    from chains_then($date_from, $date_to)
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], start_branch_id)
),
handed_on as (
    select count(*) as transfers,
    from chain_transfers as t, period as p
    where t.occurred_at >= p.date_from and t.occurred_at < p.end_ts
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], t.start_branch_id))
),
kinds as (  -- one pass: the chains counted by their kind, then the numbers from these few rows
    select
        status_then,
        partial,
        holders_then > 1 as handed_on,
        start_branch_id <> end_branch_id as crossed,
        count(*) as chains,
        sum(holders_then) as holders,
        sum(epoch(ended_at - started_at) / 86400.0 / holders_then) as days_per_holder,
    from scoped
    group by all
)
select
    coalesce(sum(chains) filter (where status_then = 'returned'), 0)::bigint as chains_returned,
    coalesce(sum(chains) filter (where status_then = 'open'), 0)::bigint as copies_out,
    coalesce(sum(chains) filter (where status_then = 'open' and handed_on), 0)::bigint as copies_adrift,
    coalesce(sum(chains) filter (where status_then = 'unterminated'), 0)::bigint as chains_unterminated,
    coalesce(sum(chains) filter (where partial), 0)::bigint as chains_partial,
    coalesce(sum(chains) filter (where status_then = 'returned' and crossed), 0)::bigint as cross_branch_returns,
    sum(holders) filter (where status_then = 'returned') / sum(chains) filter (where status_then = 'returned')
        as mean_holders,
    sum(days_per_holder) filter (where status_then = 'returned' and not partial)
        / sum(chains) filter (where status_then = 'returned' and not partial) as days_per_holder,
    (select transfers, from handed_on) as returns_avoided,
from kinds
