-- Work out anew the drift chains of the copies listed in temp table `touched_nos(item_no, item_id, from_ts,
-- chains_before)`, from their events at from_ts on (the start of a chain; chains_before chains lie before it):
-- temp tables chain_list (the touched copies' chains, as counted), new_chains and new_transfers (their rows of
-- tables chains and chain_transfers) and chain_steps (their events but renewals), for the caller, which stores the
-- rows that changed and drops them.
-- One chain per (item_id, chain_no); the rules are those of the metrics' "Drift chains" section.

-- A chain starts at a copy's first event, at a checkout and after a return. So the events of one chain are
-- those with the same number of checkouts so far (`c`, this event included) and of returns before it (`r`):
-- the pair changes exactly where a chain starts, and never comes back. One sort of the events does it all.
-- Only what the chains need is carried through the sort (the costly part): integer keys of copies and readers
-- (a reader's text, read for every event of the copies, costs more than all the rest), a transfer's own key and
-- giver only on transfers. Actions are ranked as the ties rule orders them.
create or replace temp table chain_steps as
with source as (
    select
        e.item_no, e.occurred_at, e.reader_no, e.branch_id, e.event_key,
        case when e.action = 'transfer' then e.event_key end as transfer_key,
        case when e.action = 'transfer' then e.from_reader_no end as from_reader_no,
        case e.action when 'checkout' then 0 when 'transfer' then 1 else 3 end as action_rank,
    from event_rows as e
    semi join touched_nos as t on e.item_no = t.item_no and e.occurred_at >= t.from_ts
    where e.action <> 'renew'
)
select
    item_no, occurred_at, action_rank, reader_no, branch_id, transfer_key, from_reader_no,
    case when action_rank = 1 and lag(action_rank) over item_order in (0, 1)
        then lag(reader_no) over item_order end as expected_holder_no,
    sum((action_rank = 0)::integer) over item_order as c,  -- checkouts so far, this event included
    sum((action_rank = 3)::integer) over item_order - (action_rank = 3)::integer as r,  -- returns before it
    -- the last event of a chain that has no return: the next one starts a chain, or there is none
    action_rank <> 3 and coalesce(lead(action_rank) over item_order, 0) = 0 as last_of_open,
from source
window item_order as (partition by item_no order by occurred_at, action_rank, event_key);

create or replace temp table chain_list as
with per_chain as (
    select
        item_no,
        c,
        r,
        min(occurred_at) as started_at,
        max(case when action_rank = 3 then occurred_at end) as returned_at,
        max(case when action_rank = 0 then branch_id end) as start_branch_id,  -- a checkout starts a chain
        max(case when action_rank = 3 then branch_id end) as end_branch_id,
        count(*) filter (where action_rank = 1)::integer as transfers,
        not bool_or(action_rank = 0) as partial,  -- it did not start with a checkout
        min(case when action_rank = 1 then occurred_at end) as first_transfer_at,
        max(occurred_at) as last_event_at,
        max(reader_no) filter (where last_of_open) as holder_no,
    from chain_steps
    group by item_no, c, r
)
select
    t.item_id,
    p.*,
    (t.chains_before + row_number() over copy_order)::integer as chain_no,
    lead(p.started_at) over copy_order as next_started_at,
from per_chain as p
inner join touched_nos as t using (item_no)
window copy_order as (partition by p.item_no order by p.c, p.r);

create or replace temp table new_chains as
select
    l.item_id,
    l.chain_no,
    l.started_at,
    coalesce(l.returned_at, l.next_started_at) as ended_at,
    l.start_branch_id,
    l.end_branch_id,
    l.transfers,
    l.transfers + 1 as holders,
    case
        when l.returned_at is not null then 'returned'
        when l.next_started_at is not null then 'unterminated'
        else 'open'
    end as status,
    l.partial,
    l.first_transfer_at,
    l.last_event_at,
    case when l.returned_at is null then k.reader end as holder,
    l.item_no,
from chain_list as l
left join reader_keys as k on l.holder_no = k.reader_no;

create or replace temp table new_transfers as
select
    s.transfer_key as event_key,
    c.item_id,
    c.chain_no,
    s.occurred_at,
    r.reader,
    f.reader as from_reader,
    h.reader as expected_holder,
    c.start_branch_id,
    s.expected_holder_no is not null and coalesce(s.from_reader_no <> s.expected_holder_no, true) as anomaly,
    s.item_no,
from chain_steps as s
inner join chain_list as c using (item_no, c, r)
inner join reader_keys as r on s.reader_no = r.reader_no
left join reader_keys as f on s.from_reader_no = f.reader_no
left join reader_keys as h on s.expected_holder_no = h.reader_no
where s.action_rank = 1;
