-- _macros: the pieces the named queries share, one definition each. Not a query: the database keeps these
-- macros (created with the schema, again only when the schema version changes), and every query calls them.
--   walk_threshold(minutes)           the walking threshold, default 15 minutes
--   walk_minutes(lat1, lon1, lat2, lon2)   the walk between two points
--   community_walks(on_day)           one row per community: its walk to the nearest open public branch
--   period(date_from, date_to)        one row: the period, defaulting to the span of the data
--   loans_in_period(date_from, date_to)   one row per loan of the period
--   chains_then(date_from, date_to)   one row per chain under way during the period, as it stood at its end
--   residents_by_town(on_day, threshold)  one row per town and one for the district: residents served
--   copy_places(date_to)              one row per copy: on which shelf it was at the end of the day, or on loan
--   dead_stock(date_to, months)       one row per copy of dead stock: on a shelf, not lent for `months` months

-- walk_threshold: the walking threshold in minutes (5, 10 or 15), 15 when not given.
create or replace macro walk_threshold(minutes) as coalesce(minutes::double, 15);

-- walk_minutes: minutes on foot between two WGS-84 points: great-circle metres times a detour factor of 1.3,
-- at 80 m a minute.
create or replace macro walk_minutes(lat1, lon1, lat2, lon2) as
    2 * 6371008.8 * asin(sqrt(
        pow(sin(radians(lat2 - lat1) / 2), 2)
        + cos(radians(lat1)) * cos(radians(lat2)) * pow(sin(radians(lon2 - lon1) / 2), 2)
    )) * 1.3 / 80.0;

-- Walking time from every community to its nearest open public branch on `on_day`, with and without
-- micro-branches. The one definition of "walk minutes" that every residents number uses.
-- Other branches are few, so every community is paired with each of them; a micro-branch can only be the
-- nearest within the walk to the nearest other branch, so only those in a box holding that circle are tried.
create or replace macro community_walks(on_day) as table
with open_branches as (
    select branch_id, kind, lat, lon,
    from branches
    where public_access and opened_on <= on_day and (closed_on is null or closed_on > on_day)
),
nearest_other as (
    select
        c.community_code,
        arg_min(b.branch_id, (walk_minutes(c.lat, c.lon, b.lat, b.lon), b.branch_id)) as branch_id,
        min(walk_minutes(c.lat, c.lon, b.lat, b.lon)) as minutes,
    from communities as c, open_branches as b
    where b.kind <> 'micro'
    group by c.community_code
),
without_micro as (
    select c.community_code, c.lat, c.lon, o.branch_id, o.minutes,
    from communities as c
    left join nearest_other as o using (community_code)
),
candidates as (
    select community_code, branch_id, minutes,
    from without_micro
    where branch_id is not null
    union all
    select w.community_code, b.branch_id, walk_minutes(w.lat, w.lon, b.lat, b.lon),
    from without_micro as w, open_branches as b
    where b.kind = 'micro'
      and (w.minutes is null or (
          -- degrees of latitude walked in w.minutes (80 m a minute over 1.3 times the distance), and of longitude
          abs(b.lat - w.lat) <= w.minutes * 80 / 1.3 / 111195 * 1.001
          and abs(b.lon - w.lon) <= w.minutes * 80 / 1.3 / 111195 * 1.1 / cos(radians(w.lat))))
),
nearest as (
    select
        community_code,
        arg_min(branch_id, (minutes, branch_id)) as nearest_branch_id,
        min(minutes) as walk_minutes,
    from candidates
    group by community_code
)
select
    c.community_code, c.name, c.town_code, c.population, c.lat, c.lon,
    n.nearest_branch_id, n.walk_minutes,
    w.branch_id as nearest_branch_without_micro, w.minutes as walk_minutes_without_micro,
from communities as c
left join nearest as n using (community_code)
left join without_micro as w using (community_code);

-- The period every event-based query uses: defaults to the whole span of the data.
create or replace macro period(date_from, date_to) as table
select
    coalesce(date_from::date, (select min(occurred_at)::date, from events), current_date) as date_from,
    coalesce(date_to::date, (select max(occurred_at)::date, from events), current_date) as date_to,
    coalesce(date_to::date, (select max(occurred_at)::date, from events), current_date) + interval 1 day as end_ts,
;

-- Every loan of the period, one row each: a checkout belongs to the branch where it was made, a transfer
-- to the branch where its chain started (empty when that start lies before the data).
create or replace macro loans_in_period(date_from, date_to) as table
select e.branch_id, e.item_id, e.reader, e.occurred_at, 'checkout' as action,
from events as e, period(date_from, date_to) as p
where e.action = 'checkout' and e.occurred_at >= p.date_from and e.occurred_at < p.end_ts
union all
select t.start_branch_id, t.item_id, t.reader, t.occurred_at, 'transfer',
from chain_transfers as t, period(date_from, date_to) as p
where t.occurred_at >= p.date_from and t.occurred_at < p.end_ts;

-- The drift chains under way during the period, as they stood at the end of date_to: status then
-- (a chain returned later was still open), holders then, end then.
create or replace macro chains_then(date_from, date_to) as table
with later as (  -- transfers after the end of date_to, which a chain still open then did not have yet
    select t.item_id, t.chain_no, count(*) as transfers,
    from chain_transfers as t, period(date_from, date_to) as p
    where t.occurred_at >= p.end_ts
    group by t.item_id, t.chain_no
)
-- ended by then: as stored
select c.*, c.status as status_then, c.ended_at as ended_then, c.holders as holders_then, p.date_to,
from chains as c, period(date_from, date_to) as p
where c.ended_at < p.end_ts and c.ended_at >= p.date_from
union all
-- still open then, with the holders it had then
select c.*, 'open', null, c.holders - coalesce(l.transfers, 0), p.date_to,
from chains as c
cross join period(date_from, date_to) as p
left join later as l using (item_id, chain_no)
where c.started_at < p.end_ts and (c.ended_at is null or c.ended_at >= p.end_ts);

-- The residents numbers of one day and walking threshold, per town and (is_district) for the whole
-- district: the one place kpis and walk_by_town take them from, so the pages always agree.
create or replace macro residents_by_town(on_day, threshold) as table
select
    town_code,
    grouping(town_code) = 1 as is_district,
    count(*) as communities,
    sum(population)::bigint as residents_total,
    coalesce(sum(population) filter (where walk_minutes <= walk_threshold(threshold)), 0)::bigint
        as residents_covered,
    count(*) filter (where not coalesce(walk_minutes <= walk_threshold(threshold), false))
        as communities_uncovered,
    sum(walk_minutes * population) / sum(population) filter (where walk_minutes is not null)
        as mean_walk_minutes,
    sum(walk_minutes_without_micro * population)
        / sum(population) filter (where walk_minutes_without_micro is not null)
        as mean_walk_minutes_without_micro,
from community_walks(on_day)
group by grouping sets ((town_code), ());

-- copy_places: where each copy was at the end of date_to: on a `shelf` at a branch (where its last chain by then was
-- returned; its home branch when it had not gone out yet) or `on_loan` (a chain still open then), and since when
-- it sat there. Copies added after date_to are left out. The one definition the stock queries share.
create or replace macro copy_places(date_to) as table
with p as (
    select * from period(null, date_to)
),
last_chain as (  -- a struct keeps the empty end of a chain still open (arg_max skips empty values)
    select c.item_id, arg_max({'ended_at': c.ended_at, 'end_branch_id': c.end_branch_id}, c.chain_no) as c,
    from chains as c, p
    where c.started_at < p.end_ts
    group by c.item_id
)
select
    i.item_id,
    i.home_branch_id,
    i.owner,
    case when l.item_id is null or l.c.ended_at < p.end_ts then 'shelf' else 'on_loan' end as place,
    case
        when l.item_id is null then i.home_branch_id
        when l.c.ended_at < p.end_ts then l.c.end_branch_id
    end as branch_id,
    case when l.c.ended_at < p.end_ts then l.c.ended_at end as since,
from items as i
cross join p
left join last_chain as l using (item_id)
where i.added_on is null or i.added_on <= p.date_to;

-- dead_stock: dead stock at the end of date_to: library copies on a shelf then, in stock for at least `months` months and
-- not lent (checkout or transfer) in those months. One row per such copy, with its last loan (empty: never).
create or replace macro dead_stock(date_to, months) as table
with p as (
    select d.*, (d.date_to - to_months(coalesce(months::integer, 6)))::date as cutoff,
    from period(null, date_to) as d
),
last_loan as (
    select e.item_id, max(e.occurred_at) as last_loan_at,
    from events as e, p
    where e.action in ('checkout', 'transfer') and e.occurred_at < p.end_ts
    group by e.item_id
)
select s.item_id, s.home_branch_id, s.branch_id, l.last_loan_at, p.date_to, p.cutoff,
from copy_places(date_to) as s
cross join p
join items as i using (item_id)
left join last_loan as l using (item_id)
where s.owner = 'library' and s.place = 'shelf'
  and (i.added_on is null or i.added_on <= p.cutoff)
  and (l.last_loan_at is null or l.last_loan_at < p.cutoff);
