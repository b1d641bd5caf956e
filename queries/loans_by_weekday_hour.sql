-- loans_by_weekday_hour: one row per weekday (1 = Monday … 7 = Sunday) and hour of the day (0-23), all 168,
-- with the loans taken then in the period (for staffing: when are copies taken, at the desk or handed on).
-- A checkout belongs to the branch where it was made, a transfer to the branch where its chain started.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans of these branches (default: all)
with parts as (  -- every branch: whole months from loans_hour_month, the ragged edges from the loans; chosen branches:
    -- the loans of the period (loans_in_period)
    select m.weekday, m.hour, m.checkouts, m.transfers,
    from loans_hour_month as m, period_parts($date_from, $date_to) as p
    where coalesce(len($branch_ids::varchar[]), 0) = 0 and m.month >= p.full_from and m.month < p.full_to
    union all
    select isodow(l.occurred_at), hour(l.occurred_at), (not l.is_transfer)::integer, l.is_transfer::integer,
    from edge_loans($date_from, $date_to) as l
    where coalesce(len($branch_ids::varchar[]), 0) = 0
    union all
    select isodow(l.occurred_at), hour(l.occurred_at), (not l.is_transfer)::integer, l.is_transfer::integer,
    from loans as l, period($date_from, $date_to) as p
    where l.day >= p.date_from and l.day <= p.date_to
      and l.branch_no in (select b.branch_no, from branch_nos($branch_ids) as b)
),
counted as (
    select weekday, hour, sum(checkouts)::bigint as checkouts, sum(transfers)::bigint as transfers,
    from parts
    group by weekday, hour
),
grid as (
    select d.weekday, h.hour,
    from range(1, 8) as d (weekday), range(0, 24) as h (hour)
)
select
    g.weekday,
    g.hour,
    coalesce(c.checkouts, 0) as checkouts,
    coalesce(c.transfers, 0) as transfers,
    coalesce(c.checkouts + c.transfers, 0) as loans,
from grid as g
left join counted as c using (weekday, hour)
order by g.weekday, g.hour
