-- loans_by_branch_month: one row per branch and month with loans in the period.
-- A checkout belongs to the branch where it was made; a transfer to the branch where its chain started
-- (empty when the chain's start lies before the data).
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
with whole as (  -- the period's whole months, as stored
    select m.branch_no, m.month, m.checkouts, m.transfers, m.readers,
    from loans_month as m, period_parts($date_from, $date_to) as p
    where not m.all_branches and m.month >= p.full_from and m.month < p.full_to
),
edge as (  -- the ragged edges: parts of months, from the loans
    select
        branch_no,
        date_trunc('month', day)::date as month,
        count(*) filter (where not is_transfer) as checkouts,
        count(*) filter (where is_transfer) as transfers,
        count(distinct reader_no) as readers,
    from edge_loans($date_from, $date_to)
    group by all
),
monthly as (
    select *, from whole
    union all
    select *, from edge
)
select
    k.branch_id,
    m.month,
    m.checkouts::bigint as checkouts,
    m.transfers::bigint as transfers,
    (m.checkouts + m.transfers)::bigint as loans,
    m.readers::bigint as active_readers,
from monthly as m
left join branch_keys as k using (branch_no)
order by k.branch_id nulls last, m.month
