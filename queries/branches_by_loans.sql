-- branches_by_loans: one row per branch, what the map shows of it: kind, host, status on $date_to,
-- volumes, loans in the period and the residents it serves.
-- A branch's loans are the checkouts made at it plus the transfers of the chains that started there.
-- Served residents: population of the communities for which it is the nearest open public branch
-- within the threshold (community_walks); status is open | not_public | closed | not_open_yet, and
-- only an open branch serves anyone.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period, the day whose open branches count (default: last day of the data)
-- $walk_minutes double: walking threshold in minutes, 5, 10 or 15 (default 15)
-- $branch_ids varchar[]: only these branches (default: all)
with period as (
    select *, from period($date_from, $date_to)
),
loans as (  -- the period's loans (loans_in_period), counted per day and branch when they were stored
    select
        k.branch_id,
        sum(d.checkouts) as checkouts,
        sum(d.transfers) as transfers,
    from loans_day as d
    cross join period as p
    inner join branch_keys as k using (branch_no)
    where d.day >= p.date_from and d.day <= p.date_to
    group by k.branch_id
),
walks as (
    select w.*, from period as p, community_walks(p.date_to) as w
),
served as (
    select nearest_branch_id as branch_id, sum(population)::bigint as served_residents,
    from walks
    where walk_minutes <= walk_threshold($walk_minutes)
    group by nearest_branch_id
)
select
    b.branch_id,
    b.name,
    b.kind,
    b.host_type,
    b.town_code,
    case
        when b.opened_on > p.date_to then 'not_open_yet'
        when b.closed_on <= p.date_to then 'closed'
        when not b.public_access then 'not_public'
        else 'open'
    end as status,
    b.opened_on,
    b.closed_on,
    b.volumes,
    b.host_population,
    coalesce(l.checkouts, 0)::bigint as checkouts,
    coalesce(l.transfers, 0)::bigint as transfers,
    (coalesce(l.checkouts, 0) + coalesce(l.transfers, 0))::bigint as loans,
    coalesce(s.served_residents, 0)::bigint as served_residents,
    b.lat,
    b.lon,
from branches as b
cross join period as p
left join loans as l using (branch_id)
left join served as s using (branch_id)
where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], b.branch_id)
order by case b.kind when 'central' then 0 when 'branch' then 1 else 2 end, b.branch_id
