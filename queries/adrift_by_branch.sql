-- adrift_by_branch: one row per branch where chains of the copies adrift at the end of $date_to started
-- (empty when the start lies before the data): how many copies, and their mean days out.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
with period as (
    select *, from period(null, $date_to)
),
adrift as (
    select c.start_branch_id as branch_id, datediff('day', c.started_at::date, p.date_to) as days_out,
    from chains as c, period as p
    where c.started_at < p.end_ts and (c.ended_at is null or c.ended_at >= p.end_ts)
      and c.first_transfer_at < p.end_ts
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], c.start_branch_id))
)
select
    a.branch_id,
    b.name,
    b.kind,
    count(*) as copies_adrift,
    avg(a.days_out) as mean_days_out,
from adrift as a
left join branches as b using (branch_id)
group by a.branch_id, b.name, b.kind
order by copies_adrift desc, a.branch_id nulls last
