-- loans_by_lending_owning: the top pairs of (lending branch, owning branch) with loans in the period, one row per
-- pair: where each branch's copies are borrowed. The lending branch is the loan's (a checkout's branch, a transfer's
-- chain start; empty when that start lies before the data); the owning branch is the copy's home branch. Every row
-- carries `total` (pairs the filters keep) and `total_loans` (their loans), so the rest can be summed as others.
-- The whole list (a download) is `loans_by_lending_owning_full`.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans lent by or of copies owned by these branches (default: all)
-- $sort varchar: `loans` (most loans first; default), `transfers` (most transfers first), `lending` (by lending
-- branch, then owning branch)
-- $page_size integer: rows in the page (default 100)
-- $skip integer: rows skipped before the page (default 0)
with pairs as materialized (  -- worked out once, for the page and the totals
    select *, from lending_owning_in_period($date_from, $date_to, $branch_ids)
),
page as (  -- the page first (on the branch ids alone), then the names of its branches
    select *,
    from pairs
    order by
        case when $sort::varchar = 'transfers' then transfers end desc nulls last,
        case when $sort::varchar = 'lending' then lending_branch_id end nulls last,
        case when $sort::varchar = 'lending' then owning_branch_id end nulls last,
        loans desc, lending_branch_id nulls last, owning_branch_id nulls last
    limit coalesce($page_size::integer, 100) offset coalesce($skip::integer, 0)
)
select
    x.lending_branch_id,
    lb.name as lending_branch,
    x.owning_branch_id,
    ob.name as owning_branch,
    x.checkouts,
    x.transfers,
    x.loans,
    (select count(*), from pairs) as total,
    (select sum(loans), from pairs)::bigint as total_loans,
from page as x
left join branches as lb on lb.branch_id = x.lending_branch_id
left join branches as ob on ob.branch_id = x.owning_branch_id
order by
    case when $sort::varchar = 'transfers' then x.transfers end desc nulls last,
    case when $sort::varchar = 'lending' then x.lending_branch_id end nulls last,
    case when $sort::varchar = 'lending' then x.owning_branch_id end nulls last,
    x.loans desc, x.lending_branch_id nulls last, x.owning_branch_id nulls last
