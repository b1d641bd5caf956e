-- titles_by_loans: one row per title (title and author) borrowed in the period, the $top most borrowed.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
-- $top integer: how many titles (default 20)
-- Whole months from loans_title_month, the ragged edges from the loans. A title can be among the $top only when its
-- loans over all the data (title_loans) reach the $top-th most loans in the period of the titles most borrowed
-- (loans_title_month_top, a few rows): only those titles are counted, unless they are so many that the period is
-- short and counting all its rows costs less.
with parts as (
    select *, from period_parts($date_from, $date_to)
),

bound as (  -- at most the $top-th most loans in the period (1: fewer titles than $top borrowed among the likely ones)
    select case when count(*) < coalesce($top::integer, 20) then 1 else min(loans) end as at_least,
    from (
        select m.title_no, sum(m.loans) as loans,
        from loans_title_month_top as m
        where
            m.month >= (select p.full_from from parts as p) and m.month < (select p.full_to from parts as p)
            and (
                coalesce(len($branch_ids::varchar[]), 0) = 0
                or list_contains($branch_ids::varchar[], m.home_branch_id)
            )
        group by m.title_no
        order by loans desc
        limit coalesce($top::integer, 20)
    )
),

candidates as (  -- the titles that can be among the $top, when few enough to look up
    select t.title_no,
    from title_loans as t
    where t.loans >= (select b.at_least from bound as b)
),

few as (
    select count(*) <= 100000 as few_candidates,
    from candidates
),

per_title as (
    select m.title_no, m.loans,
    from loans_title_month as m
    where
        m.month >= (select p.full_from from parts as p) and m.month < (select p.full_to from parts as p)
        and m.title_no in (select c.title_no, from candidates as c, few as f where f.few_candidates)
        and (
            coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], m.home_branch_id)
        )
    union all
    select m.title_no, m.loans,
    from loans_title_month as m, few as f
    where
        not f.few_candidates
        and m.month >= (select p.full_from from parts as p) and m.month < (select p.full_to from parts as p)
        and (
            coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], m.home_branch_id)
        )
    union all
    select t.title_no, 1,
    from edge_loans($date_from, $date_to) as l
    inner join item_titles as t using (item_no)
    where
        t.title_no in (select c.title_no, from candidates as c)
        and (
            coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], t.home_branch_id)
        )
),

top as (
    select title_no, sum(loans)::bigint as loans,
    from per_title
    group by title_no
    order by loans desc, title_no  -- titles are numbered in the order of their title and author
    limit coalesce($top::integer, 20)
),

copies as (  -- the top titles' copies in scope, borrowed or not
    select c.title_no, any_value(c.title) as title, any_value(c.author) as author, min(c.clc_class) as clc_class,
        sum(c.copies)::bigint as copies,
    from title_copies as c
    where
        c.title_no in (select t.title_no, from top as t)
        and (
            coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], c.home_branch_id)
        )
    group by c.title_no
)

select c.title, c.author, c.clc_class, c.copies, t.loans,
from top as t
inner join copies as c using (title_no)
order by t.loans desc, c.title, c.author
