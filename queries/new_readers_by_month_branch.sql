-- new_readers_by_month_branch: one row per month and branch that won new readers (metrics.md, "new readers"):
-- a reader is new in the month of the registration date (办证日期) when the readers file has it, else in the month
-- of the first loan in the data; the branch is that of the first loan (a transfer: where its chain started), else
-- the registration branch. `censored`: the month lies in the data's first $warmup_months months and counts readers
-- known only by their first loan, some of whom borrowed before the data began (shown greyed, not as new).
-- $date_from date: first day of the months shown (default: first day of the data)
-- $date_to date: last day (default: last day of the data)
-- $branch_ids varchar[]: only readers won at these branches (default: all)
-- $warmup_months integer: months at the start of the data when first loans do not prove a reader new (default 3)
with period as (
    select *, from period($date_from, $date_to)
),
won as (
    select
        date_trunc('month', n.won_on)::date as month,
        n.branch_id,
        count(*) as new_readers,
        count(*) filter (where n.by_registration) as registered,
        bool_or(n.censored) as censored,
    from new_readers($date_to, $warmup_months) as n, period as p
    where n.won_on >= p.date_from
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], n.branch_id))
    group by all
)
select w.month, w.branch_id, b.name, b.kind, w.new_readers, w.registered, w.censored,
from won as w
left join branches as b using (branch_id)
order by w.month, w.branch_id nulls last
