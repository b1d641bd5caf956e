-- titles_by_loans: one row per title (title and author) borrowed in the period, the $top most borrowed.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
-- $top integer: how many titles (default 20)
with copies as (
    select item_id, title, coalesce(author, '') as author, clc_class,
    from items
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], home_branch_id)
),
loans_per_item as (  -- the loans of the period (loans_in_period) per copy
    select l.item_id, count(*) as loans,
    from loans as l, period($date_from, $date_to) as p
    where l.day >= p.date_from and l.day <= p.date_to
    group by l.item_id
),
per_title as (
    select
        c.title,
        c.author,
        min(c.clc_class) as clc_class,
        count(*) as copies,
        coalesce(sum(l.loans), 0)::bigint as loans,
    from copies as c
    left join loans_per_item as l using (item_id)
    group by c.title, c.author
)
select title, author, clc_class, copies, loans,
from per_title
where loans > 0
order by loans desc, title, author
limit coalesce($top::integer, 20)
