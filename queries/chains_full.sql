-- chains_full: every drift chain the filters keep, one row per chain (the download of `chains`, same columns but
-- `total`), by copy and chain number.
-- $date_from date: keep chains active on or after this day (default: all)
-- $date_to date: keep chains started on or before this day (default: all)
-- $branch_ids varchar[]: only chains started or ended at these branches (default: all)
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
  and (coalesce(len($branch_ids::varchar[]), 0) = 0
       or list_contains($branch_ids::varchar[], start_branch_id)
       or list_contains($branch_ids::varchar[], end_branch_id))
order by item_id, chain_no
