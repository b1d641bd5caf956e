-- chains: one page of the drift chains (a copy's journey from a checkout to its return), one row per chain (see
-- chains_listed), with `total`, the number of chains the filters keep. The whole list (a download) is `chains_full`.
-- $date_from date: keep chains active on or after this day (default: all)
-- $date_to date: keep chains started on or before this day (default: all)
-- $branch_ids varchar[]: only chains started or ended at these branches (default: all)
-- $sort varchar: `copy` (copy, then chain number; default), `holders` (most holders first), `latest` (latest start
-- first), `transfers` (most transfers first)
-- $page_size integer: rows in the page (default 100)
-- $skip integer: rows skipped before the page (default 0)
with page as (  -- the best rows kept as the list is read (a top-N), never the whole list sorted
    select *,
    from chains_listed($date_from, $date_to, $branch_ids)
    order by
        case when $sort::varchar = 'holders' then holders end desc nulls last,
        case when $sort::varchar = 'transfers' then transfers end desc nulls last,
        case when $sort::varchar = 'latest' then started_at end desc nulls last,
        item_id, chain_no
    limit coalesce($page_size::integer, 100) offset coalesce($skip::integer, 0)
)
select *, (select count(*), from chains_listed($date_from, $date_to, $branch_ids)) as total,
from page
order by
    case when $sort::varchar = 'holders' then holders end desc nulls last,
    case when $sort::varchar = 'transfers' then transfers end desc nulls last,
    case when $sort::varchar = 'latest' then started_at end desc nulls last,
    item_id, chain_no
