-- loans_by_clc: one row per class of the Chinese Library Classification (中图法, the call number's first
-- letter; empty when the call number has none): the copies of the class and their loans in the period.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
with copies as (
    select item_id, clc_class,
    from items
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], home_branch_id)
),
loans_per_item as (
    select item_id, count(*) as loans,
    from loans_in_period($date_from, $date_to)
    group by item_id
)
select
    c.clc_class,
    count(*) as copies,
    coalesce(sum(l.loans), 0)::bigint as loans,
    coalesce(sum(l.loans), 0) / count(*) as loans_per_copy,
from copies as c
left join loans_per_item as l using (item_id)
group by c.clc_class
order by c.clc_class nulls last
