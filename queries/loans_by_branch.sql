-- loans_by_branch: one row per branch with loans in the period or open during it, most loans first.
-- A checkout belongs to the branch where it was made, a transfer to the branch where its chain started
-- (transfers of chains that started before the data belong to no branch and are left out).
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only these branches (default: all)
with period as (
    select *, from period($date_from, $date_to)
),
counted as (  -- the period's loans (loans_in_period), counted per day and branch when they were stored
    select
        d.branch_no,
        sum(d.checkouts)::bigint as checkouts,
        sum(d.transfers)::bigint as transfers,
        sum(d.checkouts + d.transfers)::bigint as loans,
    from loans_day as d, period as p
    where d.day >= p.date_from and d.day <= p.date_to
    group by d.branch_no
),
per_branch as (
    select k.branch_id, c.checkouts, c.transfers, c.loans, r.readers as active_readers,
    from counted as c
    inner join branch_keys as k using (branch_no)
    left join readers_by_branch_in_period($date_from, $date_to) as r using (branch_no)
)
select
    b.branch_id,
    b.name,
    b.kind,
    b.host_type,
    coalesce(l.checkouts, 0) as checkouts,
    coalesce(l.transfers, 0) as transfers,
    coalesce(l.loans, 0) as loans,
    l.transfers / nullif(l.loans, 0) as transfer_share,
    coalesce(l.active_readers, 0) as active_readers,
from branches as b
cross join period as p
left join per_branch as l using (branch_id)
where (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], b.branch_id))
  and (l.loans > 0 or (b.opened_on <= p.date_to and (b.closed_on is null or b.closed_on > p.date_from)))
order by loans desc, b.branch_id
