-- loans_by_clc: one row per class of the Chinese Library Classification (中图法, the call number's first
-- letter; empty when the call number has none): the copies of the class and their loans in the period.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
with copies as (
    select clc_class, count(*) as copies,
    from items
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], home_branch_id)
    group by clc_class
),
loans as (  -- the loans of the period (loans_in_period) of the copies of each class
    select clc_class, sum(loans) as loans,
    from home_loans_in_period($date_from, $date_to)
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], home_branch_id)
    group by clc_class
)
select
    c.clc_class,
    c.copies,
    coalesce(l.loans, 0)::bigint as loans,
    coalesce(l.loans, 0) / c.copies as loans_per_copy,
from copies as c
left join loans as l on c.clc_class is not distinct from l.clc_class
order by c.clc_class nulls last
