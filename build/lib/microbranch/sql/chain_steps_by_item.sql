-- chain_steps_by_item: one row per event of copy $item_id (renewals included), in time order, with the
-- chain it belongs to and, for a checkout or transfer, until when that reader held the copy (empty while
-- still held), and the copy's title.
-- $item_id varchar: the copy's barcode
with source as (
    select
        e.event_key, e.occurred_at, e.action, e.reader, e.from_reader, e.branch_id, e.item_id,
        case e.action when 'checkout' then 0 when 'transfer' then 1 when 'renew' then 2 else 3 end as action_rank,
    from events as e
    where e.item_id = $item_id::varchar
),
in_chain as (
    select s.*, c.chain_no, c.ended_at as chain_ended_at,
    from source as s
    asof left join chains as c on c.item_id = s.item_id and s.occurred_at >= c.started_at
),
with_next as (
    select
        *,
        lead(case when action <> 'renew' then occurred_at end ignore nulls) over (
            partition by chain_no order by occurred_at, action_rank, event_key
        ) as next_at,
    from in_chain
)
select
    w.chain_no,
    w.occurred_at,
    w.action,
    w.reader,
    w.from_reader,
    w.branch_id,
    b.name as branch,
    case when w.action in ('checkout', 'transfer') then coalesce(w.next_at, w.chain_ended_at) end as held_until,
    coalesce(t.anomaly, false) as anomaly,
    i.title,
from with_next as w
left join branches as b using (branch_id)
left join items as i on i.item_id = w.item_id
left join chain_transfers as t using (event_key)
order by w.occurred_at, w.action_rank, w.event_key
