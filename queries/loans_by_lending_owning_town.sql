-- loans_by_lending_owning_town: one row per (lending town, owning town) pair with loans in the period: the rows of
-- `loans_by_lending_owning_full` summed by the towns of the two branches (empty: a lending branch before the data,
-- or a branch without a town). For the chart over many branches.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans lent by or of copies owned by these branches (default: all)
select
    lb.town_code as lending_town_code,
    ob.town_code as owning_town_code,
    count(*) filter (where l.action = 'checkout') as checkouts,
    count(*) filter (where l.action = 'transfer') as transfers,
    count(*) as loans,
from loans_in_period($date_from, $date_to) as l
inner join items as i using (item_id)
left join branches as lb on lb.branch_id = l.branch_id
left join branches as ob on ob.branch_id = i.home_branch_id
where coalesce(len($branch_ids::varchar[]), 0) = 0
   or list_contains($branch_ids::varchar[], l.branch_id)
   or list_contains($branch_ids::varchar[], i.home_branch_id)
group by all
order by loans desc, lending_town_code nulls last, owning_town_code nulls last
