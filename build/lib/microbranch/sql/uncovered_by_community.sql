-- uncovered_by_community: one row per community beyond the walking threshold on $date_to (or with no
-- open public branch at all), largest population first: the candidate areas for a next micro-branch.
-- $date_to date: the day whose open branches count (default: last day of the data)
-- $walk_minutes double: walking threshold in minutes, 5, 10 or 15 (default 15)
with period as (
    select *, from period(null, $date_to)
),
walks as (
    select w.*, from period as p, community_walks(p.date_to) as w
),
uncovered as (
    select *,
    from walks
    where not coalesce(walk_minutes <= walk_threshold($walk_minutes), false)
)
select
    row_number() over (order by u.population desc, u.community_code) as rank,
    u.community_code,
    u.name,
    u.town_code,
    u.population,
    u.walk_minutes,
    u.walk_minutes_without_micro,
    u.nearest_branch_id,
    b.name as nearest_branch,
from uncovered as u
left join branches as b on b.branch_id = u.nearest_branch_id
order by rank
