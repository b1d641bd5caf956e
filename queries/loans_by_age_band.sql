-- loans_by_age_band: one row per age band (age in the year of $date_to, from the birth year; empty: unknown)
-- with loans in the period: the active readers of that age and their loans. age_from orders the bands.
-- A checkout belongs to the branch where it was made, a transfer to the branch where its chain started.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans of these branches (default: all)
with period as (
    select *, from period($date_from, $date_to)
),
counted as (  -- the period's loans (loans_in_period) per birth year, from the monthly counts
    select l.birth_year, sum(l.loans) as loans,
    from reader_loans_in_period($date_from, $date_to, $branch_ids) as l
    group by l.birth_year
),
active as (
    select r.birth_year, count(*) as active_readers,
    from readers_in_period($date_from, $date_to, $branch_ids) as a
    left join reader_attrs as r on a.reader_no = r.reader_no
    group by r.birth_year
),
aged as (
    select a.active_readers, l.loans, year(p.date_to) - a.birth_year as age,
    from active as a
    inner join counted as l on a.birth_year is not distinct from l.birth_year
    cross join period as p
),
banded as (
    select
        active_readers,
        loans,
        case
            when age is null then null
            when age < 7 then 0
            when age < 13 then 7
            when age < 18 then 13
            when age < 35 then 18
            when age < 60 then 35
            else 60
        end as age_from,
    from aged
)
select
    case age_from
        when 0 then '0-6' when 7 then '7-12' when 13 then '13-17' when 18 then '18-34' when 35 then '35-59'
        when 60 then '60+'
    end as age_band,
    age_from,
    sum(active_readers)::bigint as active_readers,
    sum(loans)::bigint as loans,
    sum(loans) / sum(active_readers) as loans_per_reader,
from banded
group by age_from
order by age_from nulls last
