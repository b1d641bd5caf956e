-- served_by_branch: one row per branch open on $date_to: the residents it serves, counted two ways.
-- residents_within_walk: population of every community within the threshold of the branch (a community
-- counts for each branch that reaches it, so these do not add up to the district).
-- served_residents ("residents for whom it is the nearest"): population of the communities for which it
-- is the nearest open public branch within the threshold (each community once, see community_walks).
-- A branch without public access is listed and serves nobody. Host members (host_population) are
-- reported beside, never added into residents.
-- $date_to date: the day whose open branches count (default: last day of the data)
-- $walk_minutes double: walking threshold in minutes, 5, 10 or 15 (default 15)
-- $branch_ids varchar[]: only these branches (default: all)
with period as (
    select *, from period(null, $date_to)
),
walks as (
    select w.*, from period as p, community_walks(p.date_to) as w
),
served as (
    select
        nearest_branch_id as branch_id,
        count(*) as served_communities,
        sum(population)::bigint as served_residents,
    from walks
    where walk_minutes <= walk_threshold($walk_minutes)
    group by nearest_branch_id
),
pairs as (  -- community and branch within the walk: the stored pairs (microbranch.walks) up to 15 minutes
    select w.community_code, w.branch_id,
    from walk_pairs as w
    where walk_threshold($walk_minutes) <= 15 and w.minutes <= walk_threshold($walk_minutes)
    union all  -- beyond them, worked out: a box around the walking circle first, then the walk itself
    select c.community_code, b.branch_id,
    from branches as b, communities as c
    where walk_threshold($walk_minutes) > 15 and b.public_access
      and abs(c.lat - b.lat) <= walk_threshold($walk_minutes) * 80 / 1.3 / 111195 * 1.001
      and walk_minutes(c.lat, c.lon, b.lat, b.lon) <= walk_threshold($walk_minutes)
),
within_walk as (
    select
        b.branch_id,
        count(*) as communities_within_walk,
        sum(c.population)::bigint as residents_within_walk,
    from pairs as w
    inner join branches as b on w.branch_id = b.branch_id
    inner join communities as c on w.community_code = c.community_code
    cross join period as p
    where b.public_access and b.opened_on <= p.date_to and (b.closed_on is null or b.closed_on > p.date_to)
    group by b.branch_id
),
open_branches as (
    select b.*,
    from branches as b, period as p
    where b.opened_on <= p.date_to and (b.closed_on is null or b.closed_on > p.date_to)
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], b.branch_id))
)
select
    b.branch_id,
    b.name,
    b.kind,
    b.host_type,
    b.public_access,
    coalesce(w.communities_within_walk, 0) as communities_within_walk,
    coalesce(w.residents_within_walk, 0)::bigint as residents_within_walk,
    coalesce(s.served_communities, 0) as served_communities,
    coalesce(s.served_residents, 0)::bigint as served_residents,
    b.host_population,
from open_branches as b
left join served as s using (branch_id)
left join within_walk as w using (branch_id)
order by served_residents desc, residents_within_walk desc, b.branch_id
