-- loans_by_lending_owning_full: every (lending branch, owning branch) pair with loans in the period (the download of
-- `loans_by_lending_owning`, same columns but `total` and `total_loans`), most loans first.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans lent by or of copies owned by these branches (default: all)
select
    x.lending_branch_id,
    lb.name as lending_branch,
    x.owning_branch_id,
    ob.name as owning_branch,
    x.checkouts,
    x.transfers,
    x.loans,
from lending_owning_in_period($date_from, $date_to, $branch_ids) as x
left join branches as lb on lb.branch_id = x.lending_branch_id
left join branches as ob on ob.branch_id = x.owning_branch_id
order by x.loans desc, x.lending_branch_id nulls last, x.owning_branch_id nulls last
