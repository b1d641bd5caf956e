-- penetration_by_community: one row per community, then one per town and one for the whole district
-- (`level` says which: community | town | district): registered readers living there and readers
-- per 1,000 residents. Readers count when registered on or before $date_to (or with no date).
-- Reader counts are personal data in aggregate: show them to officials only through
-- microbranch.privacy_tables (counts 1-9 suppressed).
-- $date_to date: count readers registered up to this day (default: last day of the data)
with period as (
    select *, from period(null, $date_to)
),
registered as (
    select r.community_code, count(*) as readers,
    from readers as r, period as p
    where r.registered_on is null or r.registered_on <= p.date_to
    group by r.community_code
),
by_community as (
    select c.community_code, c.name, c.town_code, c.population, coalesce(r.readers, 0) as readers,
    from communities as c
    left join registered as r using (community_code)
),
rolled as (
    select
        case when grouping(town_code) = 1 then 'district'
             when grouping(community_code) = 1 then 'town'
             else 'community' end as level,
        town_code,
        community_code,
        any_value(name) as name,
        sum(population)::bigint as population,
        sum(readers)::bigint as readers,
    from by_community
    group by grouping sets ((town_code, community_code), (town_code), ())
)
select
    level,
    town_code,
    community_code,
    case when level = 'community' then name end as name,
    population,
    readers,
    1000.0 * readers / nullif(population, 0) as penetration,
from rolled
order by case level when 'community' then 0 when 'town' then 1 else 2 end, town_code, community_code
