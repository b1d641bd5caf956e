-- chains: one row per drift chain (a copy's journey from a checkout to its return).
-- $date_from date: keep chains active on or after this day (default: all)
-- $date_to date: keep chains started on or before this day (default: all)
select
    item_id,
    chain_no,
    started_at,
    ended_at,
    start_branch_id,
    end_branch_id,
    transfers,
    holders,
    status,
    partial,
    first_transfer_at,
    last_event_at,
from chains
where ($date_from::date is null or coalesce(ended_at, last_event_at) >= $date_from::date)
  and ($date_to::date is null or started_at < $date_to::date + interval 1 day)
order by item_id, chain_no
