-- overdue_by_branch: one row per lending branch (where the chain of a copy out at the end of $date_to started;
-- empty when that start lies before the data): the copies out then, those past their due date and by how long.
-- A copy's due date is the one set by its latest checkout, transfer or renewal up to then; it is overdue when
-- $date_to is after that day. Copies adrift (handed on at least once) that are overdue are also counted apart.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only copies lent by these branches (default: all)
with period as (
    select *, from period(null, $date_to)
),
out_then as (  -- the copies whose last chain by then was still open (last_chains), with their due date if set by then
    select
        c.item_id,
        c.start_branch_id as branch_id,
        coalesce(c.first_transfer_at < p.end_ts, false) as adrift,
        case when c.due_set_at < p.end_ts then c.due_at end as due_at,
    from last_chains($date_to) as c, period as p
    where (c.ended_at is null or c.ended_at >= p.end_ts)
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], c.start_branch_id))
),
set_later as (  -- copies whose due date was set again after the day: theirs by then from the events
    select s.item_id, s.item_no, from copy_state as s, period as p where s.due_set_at >= p.end_ts
),
due as (
    select l.item_id, arg_max(e.due_at, e.occurred_at) as due_at,
    from event_rows as e
    inner join set_later as l on e.item_no = l.item_no
    cross join period as p
    where e.action in ('checkout', 'transfer', 'renew') and e.due_at is not null and e.occurred_at < p.end_ts
      and (select count(*), from set_later) > 0  -- none (the last day of the data): the events are not read
    group by l.item_id
),
late as (
    select
        o.branch_id,
        o.adrift,
        case when coalesce(o.due_at, d.due_at) < p.date_to then datediff('day', coalesce(o.due_at, d.due_at), p.date_to)
        end as days_overdue,
    from out_then as o
    cross join period as p
    left join due as d using (item_id)
)
select
    l.branch_id,
    b.name,
    b.kind,
    count(*) as copies_out,
    count(l.days_overdue) as copies_overdue,
    count(l.days_overdue) / count(*) as overdue_share,
    count(*) filter (where l.days_overdue <= 30) as overdue_1_30,
    count(*) filter (where l.days_overdue between 31 and 90) as overdue_31_90,
    count(*) filter (where l.days_overdue > 90) as overdue_over_90,
    avg(l.days_overdue) as mean_days_overdue,
    max(l.days_overdue) as max_days_overdue,
    count(l.days_overdue) filter (where l.adrift) as copies_adrift_overdue,
from late as l
left join branches as b using (branch_id)
group by l.branch_id, b.name, b.kind
order by copies_overdue desc, l.branch_id nulls last
