-- titles_by_loans: one row per title (title and author) borrowed in the period, the $top most borrowed.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
-- $top integer: how many titles (default 20)
-- Whole months from loans_title_month, the ragged edges from the loans. A title can be among the $top only when its
-- loans over all the data (title_loans) reach the $top-th most loans in the period of the titles most borrowed
-- (loans_title_month_top, a few rows): only those titles are counted (from loans_title_month_top when it holds them
-- all), unless they are so many that the period is short and counting all its rows costs less.
with parts as (
    select full_from, full_to, from period_parts($date_from, $date_to)
),

top_months as (  -- the whole months of the titles most borrowed over all the data
    select m.title_no, m.loans,
    from loans_title_month_top as m, parts as p
    where
        m.month >= p.full_from and m.month < p.full_to
        and (
            coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], m.home_branch_id)
        )
),

edges as (  -- the loans of the ragged edges of copies in scope, by title
    select t.title_no,
    from edge_loans($date_from, $date_to) as l
    inner join item_titles as t on l.item_no = t.item_no
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], t.home_branch_id)
),

bound as (  -- at most the $top-th most loans in the period (1: fewer titles than $top borrowed among the likely ones)
    select case when count(*) < coalesce($top::integer, 20) then 1 else min(likely.loans) end as at_least,
    from (
        select title_no, sum(loans) as loans,
        from top_months
        group by title_no
        order by loans desc
        limit coalesce($top::integer, 20)
    ) as likely
),

candidates as (  -- the titles that can be among the $top
    select t.title_no,
    from title_loans as t, bound as b
    where t.loans >= b.at_least
),

few as (  -- few enough to look up, and whether loans_title_month_top holds all their rows
    select
        count(*) <= 100000 as few_candidates,
        count(*) filter (where c.title_no not in (select t.title_no, from loans_title_month_top as t)) = 0 as in_top,
    from candidates as c
),

per_title as (
    select m.title_no, m.loans,
    from top_months as m
    where m.title_no in (select c.title_no, from candidates as c, few as f where f.few_candidates and f.in_top)
    union all
    select m.title_no, m.loans,
    from loans_title_month as m, parts as p
    where
        m.month >= p.full_from and m.month < p.full_to
        and m.title_no in (
            select c.title_no, from candidates as c, few as f where f.few_candidates and not f.in_top
        )
        and (
            coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], m.home_branch_id)
        )
    union all
    select m.title_no, m.loans,
    from loans_title_month as m, parts as p, few as f
    where
        not f.few_candidates
        and m.month >= p.full_from and m.month < p.full_to
        and (
            coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], m.home_branch_id)
        )
    union all
    select e.title_no, 1,
    from edges as e
    where e.title_no in (select c.title_no, from candidates as c, few as f where f.few_candidates)
    union all
    select e.title_no, 1,
    from edges as e, few as f
    where not f.few_candidates
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
