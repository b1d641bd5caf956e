-- walk_by_town: one row per town, then one row for the whole district (town_code empty): population-
-- weighted mean walk minutes to the nearest open public branch on $date_to, with and without
-- micro-branches (and the minutes saved), and the residents and communities within and beyond the threshold.
-- $date_to date: the day whose open branches count (default: last day of the data)
-- $walk_minutes double: walking threshold in minutes, 5, 10 or 15 (default 15)
with by_town as (
    select r.*, from period(null, $date_to) as p, residents_by_town(p.date_to, $walk_minutes) as r
)
select
    town_code,
    is_district,
    communities,
    residents_total,
    residents_covered,
    residents_covered / nullif(residents_total, 0) as coverage_rate,
    residents_total - residents_covered as residents_uncovered,
    communities_uncovered,
    mean_walk_minutes,
    mean_walk_minutes_without_micro,
    mean_walk_minutes_without_micro - mean_walk_minutes as walk_minutes_saved,
from by_town
order by is_district, town_code
