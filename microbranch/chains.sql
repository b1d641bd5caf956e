-- Rebuild the drift chains of the copies listed in temp table `touched(item_id)`.
-- One chain per (item_id, chain_no); the rules are those of the metrics' "Drift chains" section.
delete from chains where item_id in (select item_id from touched);
delete from chain_transfers where item_id in (select item_id from touched);

-- A chain starts at a copy's first event, at a checkout and after a return. So the events of one chain are
-- those with the same number of checkouts so far (`c`, this event included) and of returns before it (`r`):
-- the pair changes exactly where a chain starts, and never comes back. One sort of the events does it all.
create or replace temp table chain_steps as
with source as (
    select
        e.event_key, e.item_id, e.occurred_at, e.action, e.reader, e.from_reader, e.branch_id,
        case e.action when 'checkout' then 0 when 'transfer' then 1 else 3 end as action_rank,
    from events as e
    semi join touched as t on e.item_id = t.item_id
    where e.action <> 'renew'
)
select
    *,
    case when action = 'transfer' and lag(action) over item_order in ('checkout', 'transfer')
        then lag(reader) over item_order end as expected_holder,
    count(*) filter (where action = 'checkout') over (item_order rows between unbounded preceding and current row)
        as c,
    count(*) filter (where action = 'return') over (item_order rows between unbounded preceding and 1 preceding)
        as r,
from source
window item_order as (partition by item_id order by occurred_at, action_rank, event_key);

create or replace temp table chain_list as
with per_chain as (
    select
        item_id,
        c,
        r,
        min(occurred_at) as started_at,
        max(case when action = 'return' then occurred_at end) as returned_at,
        max(case when action = 'checkout' then branch_id end) as start_branch_id,  -- a checkout starts a chain
        max(case when action = 'return' then branch_id end) as end_branch_id,
        count(*) filter (where action = 'transfer')::integer as transfers,
        not bool_or(action = 'checkout') as partial,  -- it did not start with a checkout
        min(case when action = 'transfer' then occurred_at end) as first_transfer_at,
        max(occurred_at) as last_event_at,
        arg_max(reader, (occurred_at, action_rank, event_key)) as holder,
    from chain_steps
    group by item_id, c, r
)
select
    *,
    (row_number() over copy_order)::integer as chain_no,
    lead(started_at) over copy_order as next_started_at,
from per_chain
window copy_order as (partition by item_id order by c, r);

insert into chains
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
from chain_list;

insert into chain_transfers
select
    s.event_key,
    s.item_id,
    c.chain_no,
    s.occurred_at,
    s.reader,
    s.from_reader,
    s.expected_holder,
    c.start_branch_id,
    s.expected_holder is not null and s.from_reader is distinct from s.expected_holder as anomaly,
from chain_steps as s
join chain_list as c using (item_id, c, r)
where s.action = 'transfer';

drop table chain_steps;
drop table chain_list;
