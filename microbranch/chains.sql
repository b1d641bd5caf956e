-- Rebuild the drift chains of the copies listed in temp table `touched(item_id)`.
-- One chain per (item_id, chain_no); the rules are those of the metrics' "Drift chains" section.
delete from chains where item_id in (select item_id from touched);
delete from chain_transfers where item_id in (select item_id from touched);

create or replace temp table chain_steps as
with source as (
    select
        e.event_key, e.item_id, e.occurred_at, e.action, e.reader, e.from_reader, e.branch_id,
        case e.action when 'checkout' then 0 when 'transfer' then 1 else 3 end as action_rank,
    from events as e
    semi join touched as t on e.item_id = t.item_id
    where e.action <> 'renew'
),
ordered as (
    select
        *,
        lag(action) over item_order as prev_action,
        lag(reader) over item_order as prev_reader,
    from source
    window item_order as (partition by item_id order by occurred_at, action_rank, event_key)
),
flagged as (
    select
        *,
        action = 'checkout' or prev_action is null or prev_action = 'return' as starts,
        case when action = 'transfer' and prev_action in ('checkout', 'transfer') then prev_reader end
            as expected_holder,
    from ordered
)
select
    *,
    sum(starts::integer) over (
        partition by item_id order by occurred_at, action_rank, event_key rows unbounded preceding
    )::integer as chain_no,
from flagged;

insert into chains
with per_chain as (
    select
        item_id,
        chain_no,
        min(occurred_at) as started_at,
        max(case when action = 'return' then occurred_at end) as returned_at,
        max(case when starts and action = 'checkout' then branch_id end) as start_branch_id,
        max(case when action = 'return' then branch_id end) as end_branch_id,
        count(*) filter (where action = 'transfer')::integer as transfers,
        bool_or(starts and action <> 'checkout') as partial,
        min(case when action = 'transfer' then occurred_at end) as first_transfer_at,
        max(occurred_at) as last_event_at,
        arg_max(reader, (occurred_at, action_rank, event_key)) as holder,
    from chain_steps
    group by item_id, chain_no
),
with_next as (
    select *, lead(started_at) over (partition by item_id order by chain_no) as next_started_at,
    from per_chain
)
select
    item_id,
    chain_no,
    started_at,
    case
        when returned_at is not null then returned_at
        else next_started_at
    end as ended_at,
    start_branch_id,
    end_branch_id,
    transfers,
    transfers + 1 as holders,
    case
        when returned_at is not null then 'returned'
        when next_started_at is not null then 'unterminated'
        else 'open'
    end as status,
    partial,
    first_transfer_at,
    last_event_at,
    case when returned_at is null then holder end as holder,
from with_next;

insert into chain_transfers
select
    s.event_key,
    s.item_id,
    s.chain_no,
    s.occurred_at,
    s.reader,
    s.from_reader,
    s.expected_holder,
    c.start_branch_id,
    s.expected_holder is not null and s.from_reader is distinct from s.expected_holder as anomaly,
from chain_steps as s
join chains as c using (item_id, chain_no)
where s.action = 'transfer';

drop table chain_steps;
