-- chains_adrift: one row per copy adrift at the end of $date_to (its chain open, handed on at least once),
-- longest out first, with its current holder's pseudonym (for staff; never shown to officials).
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
with period as (
    select *, from period(null, $date_to)
),
open_then as (  -- few: the chains still open at the end of the day, handed on by then
    select c.*, p.date_to, p.end_ts,
    from chains as c, period as p
    where c.started_at < p.end_ts and (c.ended_at is null or c.ended_at >= p.end_ts)
      and c.first_transfer_at < p.end_ts
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], c.start_branch_id))
),
later as (  -- those with events after the day (handed on or returned later): their state then, from the transfers
    select
        t.item_id,
        t.chain_no,
        count(*) as transfers,
        max(t.occurred_at) as last_transfer_at,
        arg_max(t.reader, (t.occurred_at, t.event_key)) as holder,
    from chain_transfers as t
    semi join open_then as o on o.item_id = t.item_id and o.chain_no = t.chain_no and o.last_event_at >= o.end_ts
    cross join period as p
    where t.occurred_at < p.end_ts
    group by t.item_id, t.chain_no
),
transfers_then as (  -- the others are as stored: open, the last event a transfer (renewals are not in chains)
    select item_id, chain_no, transfers, last_event_at as last_transfer_at, holder,
    from open_then
    where last_event_at < end_ts
    union all
    select *, from later
)
select
    c.item_id,
    i.title,
    c.chain_no,
    c.start_branch_id,
    b.name as start_branch,
    c.started_at,
    t.last_transfer_at,
    t.transfers + 1 as holders,
    datediff('day', c.started_at::date, c.date_to) as days_out,
    t.holder,
from open_then as c
inner join transfers_then as t using (item_id, chain_no)
left join items as i using (item_id)
left join branches as b on b.branch_id = c.start_branch_id
order by days_out desc, c.item_id
