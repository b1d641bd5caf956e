-- Rebuild the drift chains of the copies listed in temp table `touched(item_id)`. Temp tables chain_list (the
-- touched copies' chains), chain_steps (their events but renewals), new_transfers (their hand-overs), chains_gone
-- and chains_added (the chains deleted and added) are left for the caller, which drops them.
-- One chain per (item_id, chain_no); the rules are those of the metrics' "Drift chains" section.
-- The chains are worked out anew for the touched copies, but only the rows that changed are deleted and added: new
-- events mostly touch a copy's last chain, so a small import writes a few rows, not every chain of a busy copy
-- (more than a row group of new rows is written by DuckDB straight into the file, which then is copied whole).

-- A chain starts at a copy's first event, at a checkout and after a return. So the events of one chain are
-- those with the same number of checkouts so far (`c`, this event included) and of returns before it (`r`):
-- the pair changes exactly where a chain starts, and never comes back. One sort of the events does it all.
-- Only what the chains need is carried through the sort (the costly part): a transfer's own key and giver
-- only on transfers. Actions are ranked as the ties rule orders them.
create or replace temp table chain_steps as
with source as (
    select
        e.item_id, e.occurred_at, e.reader, e.branch_id, e.event_key,
        case when e.action = 'transfer' then e.event_key end as transfer_key,
        case when e.action = 'transfer' then e.from_reader end as from_reader,
        case e.action when 'checkout' then 0 when 'transfer' then 1 else 3 end as action_rank,
    from events as e
    semi join touched as t on e.item_id = t.item_id
    where e.action <> 'renew'
)
select
    item_id, occurred_at, action_rank, reader, branch_id, transfer_key, from_reader,
    case when action_rank = 1 and lag(action_rank) over item_order in (0, 1)
        then lag(reader) over item_order end as expected_holder,
    sum((action_rank = 0)::integer) over item_order as c,  -- checkouts so far, this event included
    sum((action_rank = 3)::integer) over item_order - (action_rank = 3)::integer as r,  -- returns before it
    -- the last event of a chain that has no return: the next one starts a chain, or there is none
    action_rank <> 3 and coalesce(lead(action_rank) over item_order, 0) = 0 as last_of_open,
from source
window item_order as (partition by item_id order by occurred_at, action_rank, event_key);

create or replace temp table chain_list as
with per_chain as (
    select
        item_id,
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
        max(reader) filter (where last_of_open) as holder,
    from chain_steps
    group by item_id, c, r
)
select
    *,
    (row_number() over copy_order)::integer as chain_no,
    lead(started_at) over copy_order as next_started_at,
from per_chain
window copy_order as (partition by item_id order by c, r);

create or replace temp table new_chains as
select
    item_id,
    chain_no,
    started_at,
    coalesce(returned_at, next_started_at) as ended_at,
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

create or replace temp table new_transfers as
select
    s.transfer_key as event_key,
    s.item_id,
    c.chain_no,
    s.occurred_at,
    s.reader,
    s.from_reader,
    s.expected_holder,
    c.start_branch_id,
    s.expected_holder is not null and coalesce(s.from_reader <> s.expected_holder, true) as anomaly,
from chain_steps as s
inner join chain_list as c using (item_id, c, r)
where s.action_rank = 1;

-- The rows are compared whole (`c is not distinct from n`: the row of each as one value). The chains deleted and
-- added are left in temp tables chains_gone and chains_added for the caller (the monthly rollup, by delta).
create or replace temp table chains_gone as
select c.rowid as row_id, c.*,
from chains as c
semi join touched as t on c.item_id = t.item_id
anti join new_chains as n on c is not distinct from n;  -- noqa: AL05
delete from chains where rowid in (select g.row_id, from chains_gone as g);
create or replace temp table chains_added as
select *, from new_chains
except all
select c.*, from chains as c semi join touched as t on c.item_id = t.item_id;
insert into chains
select *, from chains_added;

delete from chain_transfers where rowid in (
    select c.rowid,
    from chain_transfers as c
    semi join touched as t on c.item_id = t.item_id
    anti join new_transfers as n on c is not distinct from n  -- noqa: AL05
);
insert into chain_transfers
select *, from new_transfers
except all
select c.*, from chain_transfers as c semi join touched as t on c.item_id = t.item_id;

drop table new_chains;
