-- loans_by_lending_owning_full: every (lending branch, owning branch) pair with loans in the period (the download of
-- `loans_by_lending_owning`, same columns but `total` and `total_loans`), most loans first.
-- A period that holds every loan, over every branch, reads the pairs as kept named (lending_owning_list); any other
-- the period's pairs. Each side is sorted on its own: a sort above a union reads no column statistics and took
-- twice as long.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans lent by or of copies owned by these branches (default: all)
with p as (
    select p.every_month and coalesce(len($branch_ids::varchar[]), 0) = 0 as every,
    from period_parts($date_from, $date_to) as p
),
every as (
    select l.*,
    from lending_owning_list as l
    inner join p on p.every
    order by l.loans desc, l.lending_branch_id nulls last, l.owning_branch_id nulls last
),
other as (
    select
        x.lending_branch_id,
        lb.name as lending_branch,
        x.owning_branch_id,
        ob.name as owning_branch,
        x.checkouts,
        x.transfers,
        x.loans,
    from lending_owning_in_period($date_from, $date_to, $branch_ids) as x
    inner join p on not p.every
    left join branches as lb on lb.branch_id = x.lending_branch_id
    left join branches as ob on ob.branch_id = x.owning_branch_id
    order by x.loans desc, x.lending_branch_id nulls last, x.owning_branch_id nulls last
)
select *, from every
union all
select *, from other
