-- coverage_by_threshold: one row per walking threshold (5, 10 and 15 minutes): the residents within
-- that walk of an open public branch on $date_to, with and without micro-branches, and the difference.
-- $date_to date: the day whose open branches count (default: last day of the data)
with period as (
    select *, from period(null, $date_to)
),
walks as (
    select w.*, from period as p, community_walks(p.date_to) as w
),
thresholds as (
    select unnest([5, 10, 15]) as walk_threshold,
),
final as (
    select
        t.walk_threshold,
        coalesce(sum(w.population), 0)::bigint as residents_total,
        coalesce(sum(w.population) filter (where w.walk_minutes <= t.walk_threshold), 0)::bigint
            as residents_covered,
        coalesce(sum(w.population) filter (where w.walk_minutes_without_micro <= t.walk_threshold), 0)::bigint
            as residents_covered_without_micro,
    from thresholds as t
    left join walks as w on true
    group by t.walk_threshold
)
select
    walk_threshold,
    residents_total,
    residents_covered,
    residents_covered / nullif(residents_total, 0) as coverage_rate,
    residents_covered_without_micro,
    residents_covered_without_micro / nullif(residents_total, 0) as coverage_rate_without_micro,
    residents_covered - residents_covered_without_micro as residents_added_by_micro,
from final
order by walk_threshold
