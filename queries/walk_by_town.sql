-- walk_by_town: one row per town, then one row for the whole district (town_code empty): population-
-- weighted mean walk minutes to the nearest open public branch on $date_to, with and without
-- micro-branches (and the minutes saved), and the residents and communities within and beyond the threshold.
-- $date_to date: the day whose open branches count (default: last day of the data)
-- $walk_minutes double: walking threshold in minutes, 5, 10 or 15 (default 15)
with period as (
    select * from period(null, $date_to)
),
walks as (
    select w.* from period as p, community_walks(p.date_to) as w
),
by_town as (
    select
        town_code,
        grouping(town_code) = 1 as is_district,
        count(*) as communities,
        sum(population)::bigint as residents_total,
        coalesce(sum(population) filter (where walk_minutes <= coalesce($walk_minutes::double, 15)), 0)::bigint
            as residents_covered,
        count(*) filter (where not coalesce(walk_minutes <= coalesce($walk_minutes::double, 15), false))
            as communities_uncovered,
        sum(walk_minutes * population) / sum(population) filter (where walk_minutes is not null)
            as mean_walk_minutes,
        sum(walk_minutes_without_micro * population)
            / sum(population) filter (where walk_minutes_without_micro is not null)
            as mean_walk_minutes_without_micro,
    from walks
    group by grouping sets ((town_code), ())
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
