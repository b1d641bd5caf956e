-- coverage_by_community: one row per community, its walk to the nearest open public branch.
-- $date_to date: the day whose open branches count (default: last day of the data)
-- $walk_minutes double: walking threshold in minutes, 5, 10 or 15 (default 15)
select
    w.community_code,
    w.name,
    w.town_code,
    w.population,
    w.nearest_branch_id,
    w.walk_minutes,
    w.walk_minutes_without_micro,
    coalesce(w.walk_minutes <= walk_threshold($walk_minutes), false) as covered,
    coalesce(w.walk_minutes_without_micro <= walk_threshold($walk_minutes), false) as covered_without_micro,
    w.lat,
    w.lon,
from period(null, $date_to) as p, community_walks(p.date_to) as w
order by w.community_code
