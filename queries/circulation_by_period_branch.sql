-- circulation_by_period_branch: one row per period ($unit: month, week from Monday, or day) and branch with any
-- circulation in the period: checkouts, transfers, loans (the two together), renewals and returns.
-- A checkout and a return belong to the branch where they were made; a transfer and a renewal to the branch
-- where the copy's chain started (empty when that start lies before the data).
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $unit varchar: 'month' (default), 'week' or 'day'
-- $branch_ids varchar[]: only these branches (default: all)
with period as (
    select *, from period($date_from, $date_to)
),
renewed as (
    select e.event_key, e.item_id, e.occurred_at,
    from events as e, period as p
    where e.action = 'renew' and e.occurred_at >= p.date_from and e.occurred_at < p.end_ts
),
moves as (
    select branch_id, occurred_at, action,
    from loans_in_period($date_from, $date_to)
    union all
    -- the chain the renewal fell in (an ASOF join here ran for minutes at 10M events under the period filter).
    -- Ties follow docs/metrics.md (checkout, transfer, renew, return): a renewal at the moment of the return
    -- still belongs to the returned chain, one at the moment of a checkout to the chain that checkout starts.
    select c.start_branch_id, r.occurred_at, 'renew',
    from renewed as r
    left join chains as c
        on
            r.item_id = c.item_id and r.occurred_at >= c.started_at
            and (
                c.ended_at is null or r.occurred_at < c.ended_at
                or (c.status = 'returned' and r.occurred_at = c.ended_at)
            )
    qualify row_number() over (partition by r.event_key order by c.started_at desc, c.chain_no desc) = 1
    union all
    select e.branch_id, e.occurred_at, 'return',
    from events as e, period as p
    where e.action = 'return' and e.occurred_at >= p.date_from and e.occurred_at < p.end_ts
),
counted as (
    select
        date_trunc(coalesce($unit::varchar, 'month'), occurred_at)::date as period,
        branch_id,
        count(*) filter (where action = 'checkout') as checkouts,
        count(*) filter (where action = 'transfer') as transfers,
        count(*) filter (where action = 'renew') as renewals,
        count(*) filter (where action = 'return') as returns,
    from moves
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], branch_id)
    group by all
)
select
    c.period,
    c.branch_id,
    b.name,
    b.kind,
    c.checkouts,
    c.transfers,
    c.checkouts + c.transfers as loans,
    c.renewals,
    c.returns,
from counted as c
left join branches as b using (branch_id)
order by c.period, c.branch_id nulls last
