-- loans_by_lending_owning_town: one row per (lending town, owning town) pair with loans in the period: the rows of
-- `loans_by_lending_owning_full` summed by the towns of the two branches (empty: a lending branch before the data,
-- or a branch without a town). For the chart over many branches.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans lent by or of copies owned by these branches (default: all)
select
    lb.town_code as lending_town_code,
    ob.town_code as owning_town_code,
    sum(x.checkouts)::bigint as checkouts,
    sum(x.transfers)::bigint as transfers,
    sum(x.loans)::bigint as loans,
from lending_owning_in_period($date_from, $date_to, $branch_ids) as x
left join branches as lb on lb.branch_id = x.lending_branch_id
left join branches as ob on ob.branch_id = x.owning_branch_id
group by all
order by loans desc, lending_town_code nulls last, owning_town_code nulls last
