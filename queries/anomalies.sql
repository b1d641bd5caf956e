-- anomalies: one row per anomalous transfer in the period (its from-reader is not the copy's holder then).
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
with period as (
    select *, from period($date_from, $date_to)
)
select
    t.occurred_at,
    t.item_id,
    i.title,
    t.chain_no,
    t.reader,
    t.from_reader,
    t.expected_holder,
    b.name as start_branch,
from chain_transfers as t
cross join period as p
left join items as i using (item_id)
left join branches as b on b.branch_id = t.start_branch_id
where t.anomaly and t.occurred_at >= p.date_from and t.occurred_at < p.end_ts
  and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], t.start_branch_id))
order by t.occurred_at desc, t.item_id
