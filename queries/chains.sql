-- chains: one page of the drift chains (a copy's journey from a checkout to its return), one row per chain, with
-- `total`, the number of chains the filters keep. The whole list (a download) is `chains_full`.
-- $date_from date: keep chains active on or after this day (default: all)
-- $date_to date: keep chains started on or before this day (default: all)
-- $branch_ids varchar[]: only chains started or ended at these branches (default: all)
-- $sort varchar: `copy` (copy, then chain number; default), `holders` (most holders first), `latest` (latest start
-- first), `transfers` (most transfers first)
-- $page_size integer: rows in the page (default 100)
-- $skip integer: rows skipped before the page (default 0)
with listed as (
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
)
select *, count(*) over () as total,
from listed
order by
    case when $sort::varchar = 'holders' then holders end desc nulls last,
    case when $sort::varchar = 'transfers' then transfers end desc nulls last,
    case when $sort::varchar = 'latest' then started_at end desc nulls last,
    item_id, chain_no
limit coalesce($page_size::integer, 100) offset coalesce($skip::integer, 0)
