-- retention_by_cohort: one row per month of first loan (the cohort) and group of the first loan's branch
-- (micro: a micro-branch; other: any other branch or unknown): the new readers, and how many of them borrowed again
-- within 1, 3 and 6 months: a loan on a later day, no later than the first loan's day plus that many months.
-- A count is empty until the window is over, at $date_to, for every reader of the cohort (the month's last day
-- plus that many months). First loans are those in the data (checkout or transfer-in) up to $date_to, of new
-- readers only (metrics.md, "new readers"): not of readers registered before the data began. `censored`: the
-- cohort holds readers known only by their first loan in the data's first $warmup_months months.
-- $date_from date: first month shown (default: first day of the data)
-- $date_to date: the day the data is read up to (default: last day of the data)
-- $branch_ids varchar[]: only readers whose first loan was at these branches (default: all)
-- $warmup_months integer: months at the start of the data when first loans do not prove a reader new (default 3)
with period as (
    select *, from period($date_from, $date_to)
),
firsts as (  -- next_day: the first later day with a loan, up to $date_to
    select reader_no, branch_id, first_day, next_day, censored,
    from new_readers($date_to, $warmup_months)
    where first_day is not null and not long_time
),
cohorts as (
    select
        date_trunc('month', f.first_day)::date as month,
        case when b.kind = 'micro' then 'micro' else 'other' end as branch_group,
        count(*) as new_readers,
        bool_or(f.censored) as censored,
        count(*) filter (where f.next_day <= f.first_day + interval 1 month) as again_1m,
        count(*) filter (where f.next_day <= f.first_day + interval 3 month) as again_3m,
        count(*) filter (where f.next_day <= f.first_day + interval 6 month) as again_6m,
    from firsts as f
    cross join period as p
    left join branches as b using (branch_id)
    where f.first_day >= p.date_from
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], f.branch_id))
    group by all
)
select
    c.month,
    c.branch_group,
    c.new_readers,
    case when last_day(c.month) + interval 1 month <= p.date_to then c.again_1m end as again_1m,
    case when last_day(c.month) + interval 3 month <= p.date_to then c.again_3m end as again_3m,
    case when last_day(c.month) + interval 6 month <= p.date_to then c.again_6m end as again_6m,
    c.censored,
from cohorts as c, period as p
order by c.month, c.branch_group
