-- chains_by_holders: one row per number of holders, the drift chains under way during the period that had
-- that many holders at the end of $date_to, by their status then.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
with period as (
    select * from period($date_from, $date_to)
),
transfers_then as (
    select t.item_id, t.chain_no, count(*) as transfers,
    from chain_transfers as t, period as p
    where t.occurred_at < p.end_ts
    group by t.item_id, t.chain_no
),
chains_then as (
    select
        case when c.ended_at < p.end_ts then c.status else 'open' end as status_then,
        coalesce(t.transfers, 0) + 1 as holders_then,
    from chains as c
    cross join period as p
    left join transfers_then as t using (item_id, chain_no)
    where c.started_at < p.end_ts and (c.ended_at is null or c.ended_at >= p.date_from)
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], c.start_branch_id))
)
select
    holders_then as holders,
    count(*) filter (where status_then = 'returned') as returned,
    count(*) filter (where status_then = 'open') as open,
    count(*) filter (where status_then = 'unterminated') as unterminated,
    count(*) as chains,
from chains_then
group by holders_then
order by holders
