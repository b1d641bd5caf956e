-- chain_kpis: one row, the drift-chain numbers of the period. A chain counts when it was under way during
-- the period; its status is the one it had at the end of $date_to (a chain returned later was still open).
-- The chains ended during the period are counted from chains_ended (kept per month), those still open then from
-- chains_open.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
with period as (
    select *, from period($date_from, $date_to)
),
chosen as (
    select coalesce(len($branch_ids::varchar[]), 0) = 0 as every_branch,
),
ended as (  -- by kind: status, partial, holders
    select
        e.status,
        e.partial,
        sum(e.chains) as chains,
        sum(e.crossed) as crossed,
        sum(e.chains * e.holders) as holders,
        sum(e.duration_us / 1e6 / 86400.0 / e.holders) as days_per_holder,
    from chains_ended($date_from, $date_to) as e, chosen as c
    where c.every_branch or list_contains($branch_ids::varchar[], e.start_branch_id)
    group by all
),
still_open as (
    select
        count(*) as chains,
        count(*) filter (where o.handed_on) as adrift,
        count(*) filter (where o.partial) as partial,
    from chains_open($date_to) as o, chosen as c
    where c.every_branch or list_contains($branch_ids::varchar[], o.start_branch_id)
),
handed_on as (
    select count(*) as transfers,
    from chain_transfers as t, period as p
    where t.occurred_at >= p.date_from and t.occurred_at < p.end_ts
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], t.start_branch_id))
)
select
    coalesce(sum(e.chains) filter (where e.status = 'returned'), 0)::bigint as chains_returned,
    any_value(o.chains)::bigint as copies_out,
    any_value(o.adrift)::bigint as copies_adrift,
    coalesce(sum(e.chains) filter (where e.status = 'unterminated'), 0)::bigint as chains_unterminated,
    (coalesce(sum(e.chains) filter (where e.partial), 0) + any_value(o.partial))::bigint as chains_partial,
    coalesce(sum(e.crossed) filter (where e.status = 'returned'), 0)::bigint as cross_branch_returns,
    sum(e.holders) filter (where e.status = 'returned') / sum(e.chains) filter (where e.status = 'returned')
        as mean_holders,
    sum(e.days_per_holder) filter (where e.status = 'returned' and not e.partial)
        / sum(e.chains) filter (where e.status = 'returned' and not e.partial) as days_per_holder,
    any_value(h.transfers) as returns_avoided,
from still_open as o
cross join handed_on as h
left join ended as e on true
