-- loans_by_weekday_hour: one row per weekday (1 = Monday … 7 = Sunday) and hour of the day (0-23), all 168,
-- with the loans taken then in the period (for staffing: when are copies taken, at the desk or handed on).
-- A checkout belongs to the branch where it was made, a transfer to the branch where its chain started.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans of these branches (default: all)
with counted as (  -- the period's loans (loans_in_period), from the stored loans with integer keys
    select
        isodow(l.occurred_at) as weekday,
        hour(l.occurred_at) as hour,
        count(*) filter (where not l.is_transfer) as checkouts,
        count(*) filter (where l.is_transfer) as transfers,
    from loans as l
    cross join period($date_from, $date_to) as p
    left join branch_keys as k using (branch_no)
    where l.day >= p.date_from and l.day <= p.date_to
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], k.branch_id))
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
