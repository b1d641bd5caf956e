-- chains_by_days_per_holder: one row per whole number of days per holder (duration / holders, rounded
-- down), counting the complete chains (not partial) returned in the period.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
with period as (
    select *, from period($date_from, $date_to)
),
returned as (
    select epoch(c.ended_at - c.started_at) / 86400.0 / c.holders as days_per_holder,
    from chains as c, period as p
    where c.status = 'returned' and not c.partial and c.ended_at >= p.date_from and c.ended_at < p.end_ts
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], c.start_branch_id))
)
select floor(days_per_holder)::integer as days_per_holder, count(*) as chains,
from returned
group by all
order by days_per_holder
