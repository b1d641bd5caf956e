-- kpis: one row, the headline numbers of the period.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period, the day place-based numbers refer to (default: last day of the data)
-- $walk_minutes double: walking threshold in minutes, 5, 10 or 15 (default 15)
-- $branch_ids varchar[]: only these branches (default: all): loans of these branches (a checkout's branch, a
-- transfer's chain start), chains that started at them, these branches open. The residents numbers are always
-- those of the whole district.
with period as (
    select *, from period($date_from, $date_to)
),
open_branches as (
    select b.*,
    from branches as b, period as p
    where b.opened_on <= p.date_to and (b.closed_on is null or b.closed_on > p.date_to)
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], b.branch_id))
),
loans as (  -- the period's loans (loans_in_period), counted per day when they were stored
    select
        coalesce(sum(d.checkouts), 0)::bigint as checkouts,
        coalesce(sum(d.transfers), 0)::bigint as transfers,
        (select count(*), from readers_in_period($date_from, $date_to, $branch_ids)) as active_readers,
    from loans_day as d
    cross join period as p
    where d.day >= p.date_from and d.day <= p.date_to
      and (coalesce(len($branch_ids::varchar[]), 0) = 0
           or d.branch_no in (select k.branch_no, from branch_nos($branch_ids) as k))
),
chosen as (
    select coalesce(len($branch_ids::varchar[]), 0) = 0 as every_branch,
),
drift as (  -- the copies out at the end of date_to (chains_open), the chains returned during the period (chains_ended)
    select
        o.copies_out,
        o.copies_adrift,
        coalesce(e.chains, 0) as chains_returned,
        e.holders / e.chains as mean_holders,
    from (
        select count(*) as copies_out, count(*) filter (where o.handed_on) as copies_adrift,
        from chains_open($date_to) as o, chosen as c
        where c.every_branch or list_contains($branch_ids::varchar[], o.start_branch_id)
    ) as o,
    (
        select sum(e.chains) as chains, sum(e.chains * e.holders) as holders,
        from chains_ended($date_from, $date_to) as e, chosen as c
        where e.status = 'returned' and (c.every_branch or list_contains($branch_ids::varchar[], e.start_branch_id))
    ) as e
),
residents as (  -- one row even with no communities (the district row is then missing)
    select
        coalesce(max(r.residents_total), 0) as residents_total,
        coalesce(max(r.residents_covered), 0) as residents_covered,
        max(r.mean_walk_minutes) as mean_walk_minutes,
        max(r.mean_walk_minutes_without_micro) as mean_walk_minutes_without_micro,
    from period as p, residents_by_town(p.date_to, $walk_minutes) as r
    where r.is_district
)
select
    p.date_from,
    p.date_to,
    (select count(*), from open_branches) as branches_open,
    (select count(*), from open_branches where kind = 'micro') as micro_branches_open,
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
