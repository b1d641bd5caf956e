-- kpis: one row, the headline numbers of the period.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period, the day place-based numbers refer to (default: last day of the data)
-- $walk_minutes double: walking threshold in minutes, 5, 10 or 15 (default 15)
with period as (
    select * from period($date_from, $date_to)
),
open_branches as (
    select b.*
    from branches as b, period as p
    where b.opened_on <= p.date_to and (b.closed_on is null or b.closed_on > p.date_to)
),
loans as (
    select
        count(*) filter (where action = 'checkout') as checkouts,
        count(*) filter (where action = 'transfer') as transfers,
        count(distinct reader) as active_readers,
    from events as e, period as p
    -- only loans: the counts above are of loans, and the distinct readers are ~30% cheaper from a WHERE than a FILTER
    where e.occurred_at >= p.date_from and e.occurred_at < p.end_ts and e.action in ('checkout', 'transfer')
),
drift as (
    select
        count(*) filter (where c.started_at < p.end_ts and (c.ended_at is null or c.ended_at >= p.end_ts))
            as copies_out,
        count(*) filter (where c.started_at < p.end_ts and (c.ended_at is null or c.ended_at >= p.end_ts)
            and c.first_transfer_at < p.end_ts) as copies_adrift,
        count(*) filter (where c.status = 'returned' and c.ended_at >= p.date_from and c.ended_at < p.end_ts)
            as chains_returned,
        avg(c.holders) filter (where c.status = 'returned' and c.ended_at >= p.date_from and c.ended_at < p.end_ts)
            as mean_holders,
    from chains as c, period as p
),
walks as (
    select w.* from period as p, community_walks(p.date_to) as w
),
residents as (
    select
        coalesce(sum(population), 0)::bigint as residents_total,
        coalesce(sum(population) filter (where walk_minutes <= coalesce($walk_minutes::double, 15)), 0)::bigint
            as residents_covered,
        sum(walk_minutes * population) / sum(population) filter (where walk_minutes is not null)
            as mean_walk_minutes,
        sum(walk_minutes_without_micro * population)
            / sum(population) filter (where walk_minutes_without_micro is not null)
            as mean_walk_minutes_without_micro,
    from walks
)
select
    p.date_from,
    p.date_to,
    (select count(*) from open_branches) as branches_open,
    (select count(*) from open_branches where kind = 'micro') as micro_branches_open,
    l.checkouts,
    l.transfers,
    l.checkouts + l.transfers as loans,
    l.transfers / nullif(l.checkouts + l.transfers, 0) as transfer_share,
    l.active_readers,
    d.copies_out,
    d.copies_adrift,
    d.chains_returned,
    d.mean_holders,
    r.residents_total,
    r.residents_covered,
    r.residents_covered / nullif(r.residents_total, 0) as coverage_rate,
    r.mean_walk_minutes,
    r.mean_walk_minutes_without_micro,
from period as p, loans as l, drift as d, residents as r
