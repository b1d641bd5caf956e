-- _macros: the pieces the named queries share, one definition each. Not a query: the database keeps these
-- macros (created with the schema, again only when the schema version changes), and every query calls them.
--   walk_threshold(minutes)           the walking threshold, default 15 minutes
--   walk_minutes(lat1, lon1, lat2, lon2)   the walk between two points
--   community_walks(on_day)           one row per community: its walk to the nearest open public branch
--                                     (precomputed: microbranch.walks)
--   period(date_from, date_to)        one row: the period, defaulting to the span of the data
--   loans_in_period(date_from, date_to)   one row per loan of the period
--   month_no(d), month_mask(first_no, last_no, blk)   months as integers and as bits of the activity bitmaps
--   period_parts(date_from, date_to)  one row: the whole months of the period and its ragged edges
--   edge_loans(date_from, date_to)    one row per loan of the ragged edges, with integer keys
--   lending_owning_in_period(date_from, date_to, branch_ids)  one row per lending and owning branch pair with loans
--   chains_ended(date_from, date_to)  the drift chains ended during the period, counted by kind (chains_month)
--   long_chain_holders()              the holders from which a chain is kept in chains_long as well
--   chains_before_last(date_to)       the chains of copies whose last chain started after date_to
--   chains_open(date_to)              one row per chain still open at the end of date_to, with its holders then
--   chain_holders(date_from, date_to)  the chains under way during the period by start branch, holders, status then
--   residents_by_town(on_day, threshold)  one row per town and one for the district: residents served
--   copy_places(date_to)              one row per copy: on which shelf it was at the end of the day, or on loan
--   copies_to_move(date_to, branch_ids)  one row per copy on another branch's shelf, to send home: the move list
--   moves_listed(date_to, branch_ids)  the move list as the van sheet shows it
--   moves_page(date_to, branch_ids, sort, page_size, skip)  one page of that list, and its total
--   dead_stock(date_to, months)       one row per copy of dead stock: on a shelf, not lent for `months` months
--   dead_stock_listed(date_to, months, branch_ids)  one row per copy of dead stock as its list shows it
--   dead_stock_page(date_to, months, branch_ids, sort, page_size, skip)  one page of that list, and its total
--   chains_listed(date_from, date_to, branch_ids)  one row per drift chain as its list shows it
--   unborrowed(date_to, branch_ids)  one row per library copy never borrowed by date_to (copy_state)
--   never_borrowed(date_to, branch_ids)  the weeding list: unborrowed as its list shows it
--   never_borrowed_page(date_to, branch_ids, sort, page_size, skip)  one page of that list, and its total
--   new_readers(date_to, warmup)      one row per reader up to date_to: when and where won, and how that is known
--   last_chains(date_to)              one row per copy: its last chain started by the end of date_to
--   copies_then(date_to)              one row per copy: where it was at the end of date_to, its last loan by then

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
-- micro-branches. The one definition of "walk minutes" that every residents number uses. Read from the spans of
-- days kept in community_nearest (microbranch.walks, rebuilt when branches or communities change).
create or replace macro community_walks(on_day) as table
select
    c.community_code, c.name, c.town_code, c.population, c.lat, c.lon,
    n.nearest_branch_id, n.walk_minutes, n.nearest_branch_without_micro, n.walk_minutes_without_micro,
from communities as c
left join community_nearest as n
    on n.community_code = c.community_code and n.valid_from <= on_day
    and (n.valid_until is null or n.valid_until > on_day);

-- branch_nos: the numbers (branch_keys) of the branches branch_ids names, one row each (none when it names none).
create or replace macro branch_nos(branch_ids) as table
select k.branch_no, from branch_keys as k where list_contains(branch_ids::varchar[], k.branch_id);

-- The period every event-based query uses: defaults to the whole span of the data.
create or replace macro period(date_from, date_to) as table
select
    coalesce(date_from::date, first_day, current_date) as date_from,
    coalesce(date_to::date, last_day, current_date) as date_to,
    coalesce(date_to::date, last_day, current_date) + interval 1 day as end_ts,
from (select min(first_at)::date as first_day, max(last_at)::date as last_day, from event_span) as d;

-- Every loan of the period, one row each: a checkout belongs to the branch where it was made, a transfer
-- to the branch where its chain started (empty when that start lies before the data). From the stored loans.
create or replace macro loans_in_period(date_from, date_to) as table
select
    b.branch_id,
    i.item_id,
    r.reader,
    l.occurred_at,
    case when l.is_transfer then 'transfer' else 'checkout' end as action,
from loans as l
cross join period(date_from, date_to) as p
left join branch_keys as b on l.branch_no = b.branch_no
inner join item_keys as i on l.item_no = i.item_no
inner join reader_keys as r on l.reader_no = r.reader_no
where l.day >= p.date_from and l.day <= p.date_to;

-- chains_ended: the drift chains that ended during the period (returned, or unterminated by the copy's next checkout),
-- counted per start branch, status, partial and holders: how many, how many returned at another branch than their
-- start (crossed), and their days out in microseconds. The period's whole months from chains_month, the days around
-- them from the chains.
create or replace macro chains_ended(date_from, date_to) as table
with cut as (  -- (the period's own columns named with its alias: the bare names are this macro's parameters)
    select
        p.date_from,
        p.end_ts,
        case
            when p.date_from = date_trunc('month', p.date_from) then p.date_from
            else date_trunc('month', p.date_from) + interval 1 month
        end::date as full_from,
        date_trunc('month', p.date_to + interval 1 day)::date as full_until,
    from period(date_from, date_to) as p
)
select m.start_branch_id, m.status, m.partial, m.holders, m.chains, m.crossed, m.duration_us,
from chains_month as m, cut as p
where m.month >= p.full_from and m.month < p.full_until
union all
select  -- the days before the whole months, then those after them: two ranges, each filtered as the chains are read
    c.start_branch_id,
    c.status,
    c.partial,
    c.holders,
    count(*),
    count(*) filter (where c.start_branch_id <> c.end_branch_id),
    sum(datediff('microsecond', c.started_at, c.ended_at)::hugeint),
from (
    select c.start_branch_id, c.end_branch_id, c.status, c.partial, c.holders, c.started_at, c.ended_at,
    from chains as c, cut as p
    where c.ended_at >= p.date_from and c.ended_at < least(p.end_ts, p.full_from)
    union all
    select c.start_branch_id, c.end_branch_id, c.status, c.partial, c.holders, c.started_at, c.ended_at,
    from chains as c, cut as p
    where c.ended_at >= greatest(p.date_from, p.full_until, p.full_from) and c.ended_at < p.end_ts
) as c
group by all;

-- long_chain_holders: a chain with this many holders or more is kept in chains_long as well as in chains.
create or replace macro long_chain_holders() as 4;

-- chains_before_last: the chains of the copies whose last chain (as copy_state holds it) started after the end of
-- date_to: what a question about that day reads from the chains besides copy_state. None are read when there are no
-- such copies (the data's last day, every page's default).
create or replace macro chains_before_last(date_to) as table
with later as (
    select s.item_no, from copy_state as s, period(null, date_to) as p where s.started_at >= p.end_ts
)
select c.*,
from chains as c
where (select count(*), from later) > 0 and c.item_no in (select l.item_no, from later as l);

-- chains_open: the drift chains still open at the end of date_to, one row each, with whether they had been handed on by
-- then and the holders they had then (a chain handed on later had fewer). A copy has one chain open at a time: the
-- last it started by then (copy_state holds each copy's last chain; the chains of copies whose last chain started
-- later are read from the chains).
create or replace macro chains_open(date_to) as table
with p as (
    select *, from period(null, date_to)
),
later as (  -- transfers after the end of date_to, which a chain still open then did not have yet
    select t.item_no, t.chain_no, count(*) as transfers,
    from chain_transfers as t, p
    where t.occurred_at >= p.end_ts
    group by t.item_no, t.chain_no
),
open_then as (
    select
        s.item_id, s.item_no, s.chain_no, s.started_at, s.start_branch_id, s.end_branch_id, s.partial,
        s.transfers + 1 as holders, s.first_transfer_at < p.end_ts as handed_on, p.date_to,
    from copy_state as s, p
    where s.started_at < p.end_ts and (s.ended_at is null or s.ended_at >= p.end_ts)
    union all
    select
        c.item_id, c.item_no, c.chain_no, c.started_at, c.start_branch_id, c.end_branch_id, c.partial, c.holders,
        c.first_transfer_at < p.end_ts as handed_on, p.date_to,
    from chains_before_last(date_to) as c, p
    where c.started_at < p.end_ts and (c.ended_at is null or c.ended_at >= p.end_ts)
)
select o.* exclude (holders), o.holders - coalesce(l.transfers, 0) as holders_then,
from open_then as o
left join later as l on o.item_no = l.item_no and o.chain_no = l.chain_no;

-- chain_holders: the drift chains under way during the period, counted per start branch, number of holders at the
-- end of date_to and status then: those ended during the period from chains_ended, those still open from chains_open.
create or replace macro chain_holders(date_from, date_to) as table
select e.start_branch_id, e.holders::bigint as holders, e.status, sum(e.chains) as chains,
from chains_ended(date_from, date_to) as e
group by all
union all
select o.start_branch_id, o.holders_then, 'open', count(*),
from chains_open(date_to) as o
group by all;

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

-- last_chains: one row per copy with a chain started by the end of date_to: the last such chain (the one open
-- then, if any: chains of a copy do not overlap), and the copy's latest due date as stored (see copy_state). From
-- copy_state where the copy's last chain started by then, else from the chains of the copies that have chains after.
-- (A fallback reads its table only when some copy needs it: `(select count(*) ...) > 0` skips the scan.)
create or replace macro last_chains(date_to) as table
with p as (
    select *, from period(null, date_to)
),
later as (
    select s.item_id,
    from copy_state as s, p
    where s.started_at >= p.end_ts
)
select
    s.item_id, s.chain_no, s.started_at, s.ended_at, s.start_branch_id, s.end_branch_id, s.first_transfer_at,
    s.due_at, s.due_set_at,
from copy_state as s, p
where s.started_at < p.end_ts
union all
select
    c.item_id, c.c.chain_no, c.c.started_at, c.c.ended_at, c.c.start_branch_id, c.c.end_branch_id,
    c.c.first_transfer_at, s.due_at, s.due_set_at,
from (
    select c.item_id, arg_max(c, c.chain_no) as c,
    from chains as c, p
    where (select count(*), from later) > 0 and c.item_id in (select item_id, from later) and c.started_at < p.end_ts
    group by c.item_id
) as c
inner join copy_state as s using (item_id);

-- copies_then: one row per copy in the items file added by date_to, where it was at the end of that day (see
-- copy_places) and its last loan by then. From copy_state, and for the copies that had a chain or a loan after
-- that day, their chains and loans up to it. When no copy had either (the data's last day, the default), every
-- copy is as copy_state holds it: read with no join.
create or replace macro copies_then(date_to) as table
with p as (
    select *, from period(null, date_to)
),
chain_later as (
    select s.item_id, from copy_state as s, p where s.started_at >= p.end_ts
),
loan_later as (
    select s.item_no, from copy_state as s, p where s.last_loan_at >= p.end_ts
),
as_stored as (
    select (select count(*), from chain_later) = 0 and (select count(*), from loan_later) = 0 as yes,
),
chain_before as (  -- the last chain by then of copies whose last chain started later
    select c.item_id, arg_max({ 'ended_at': c.ended_at, 'end_branch_id': c.end_branch_id }, c.chain_no) as c,
    from chains as c, p
    where (select count(*), from chain_later) > 0 and c.item_id in (select item_id, from chain_later)
      and c.started_at < p.end_ts
    group by c.item_id
),
loan_before as (  -- the last loan by then of copies lent later
    select l.item_no, max(l.occurred_at) as last_loan_at,
    from loans as l, p
    where (select count(*), from loan_later) > 0 and l.item_no in (select item_no, from loan_later)
      and l.occurred_at < p.end_ts
    group by l.item_no
),
chain_then as (
    select
        s.item_id,
        s.home_branch_id,
        s.owner,
        s.added_on,
        s.started_at < p.end_ts or b.item_id is not null as lent,
        case when s.started_at < p.end_ts then s.ended_at else b.c.ended_at end as ended_at,
        case when s.started_at < p.end_ts then s.end_branch_id else b.c.end_branch_id end as end_branch_id,
        case when s.last_loan_at < p.end_ts then s.last_loan_at else l.last_loan_at end as last_loan_at,
        p.end_ts,
    from copy_state as s
    cross join p
    left join chain_before as b on b.item_id = s.item_id
    left join loan_before as l on l.item_no = s.item_no
    where not (select yes, from as_stored) and s.in_items and (s.added_on is null or s.added_on <= p.date_to)
)
select
    s.item_id,
    s.home_branch_id,
    s.owner,
    s.added_on,
    case when s.started_at is null or s.ended_at < p.end_ts then 'shelf' else 'on_loan' end as place,
    case when s.started_at is null then s.home_branch_id when s.ended_at < p.end_ts then s.end_branch_id end
        as branch_id,
    case when s.ended_at < p.end_ts then s.ended_at end as since,
    s.last_loan_at,
from copy_state as s, p
where (select yes, from as_stored) and s.in_items and (s.added_on is null or s.added_on <= p.date_to)
union all
select
    item_id,
    home_branch_id,
    owner,
    added_on,
    case when not coalesce(lent, false) or ended_at < end_ts then 'shelf' else 'on_loan' end as place,
    case
        when not coalesce(lent, false) then home_branch_id
        when ended_at < end_ts then end_branch_id
    end as branch_id,
    case when ended_at < end_ts then ended_at end as since,
    last_loan_at,
from chain_then;

-- copy_places: where each copy was at the end of date_to: on a `shelf` at a branch (where its last chain by then was
-- returned; its home branch when it had not gone out yet) or `on_loan` (a chain still open then), and since when
-- it sat there. Copies added after date_to are left out. The one definition the stock queries share.
create or replace macro copy_places(date_to) as table
select item_id, home_branch_id, owner, place, branch_id, since,
from copies_then(date_to);

-- copies_to_move: the move list at the end of date_to: one row per copy on a shelf at a branch other than its home
-- branch, to send home; copies whose home branch is closed by then are left out (nowhere to send them). With
-- branch_ids, only copies sent from or to those branches. The one definition the move queries share; the branches'
-- names are joined by each query to the rows it keeps.
create or replace macro copies_to_move(date_to, branch_ids) as table
select
    s.item_id,
    s.branch_id as from_branch_id,
    s.home_branch_id as to_branch_id,
    s.since::date as on_shelf_since,
    datediff('day', s.since::date, p.date_to) as days_there,
from copy_places(date_to) as s
cross join period(null, date_to) as p
inner join branches as t on t.branch_id = s.home_branch_id
where s.place = 'shelf' and s.branch_id <> s.home_branch_id
  and s.branch_id in (select f.branch_id, from branches as f)
  and (t.closed_on is null or t.closed_on > p.date_to)
  and (coalesce(len(branch_ids::varchar[]), 0) = 0
       or list_contains(branch_ids::varchar[], s.branch_id)
       or list_contains(branch_ids::varchar[], s.home_branch_id));

-- moves_listed: the move list as the van sheet shows it (`moves_by_item_full`, its download; its pages are
-- moves_page): copies_to_move with each copy's title and call number and the branches' names and addresses.
create or replace macro moves_listed(date_to, branch_ids) as table
select
    m.item_id,
    i.title,
    i.call_number,
    m.from_branch_id,
    f.name as from_branch,
    f.address as from_address,
    m.to_branch_id,
    t.name as to_branch,
    t.address as to_address,
    m.on_shelf_since,
    m.days_there,
from copies_to_move(date_to, branch_ids) as m
inner join items as i using (item_id)
inner join branches as f on f.branch_id = m.from_branch_id
inner join branches as t on t.branch_id = m.to_branch_id;

-- moves_page: rows skip + 1 to skip + page_size of moves_listed in the order `sort` (see `moves_by_item`), and `total`,
-- the rows of the whole list. The list is sorted and cut before the copies' titles and the branches' names are
-- joined, to the rows kept only.
create or replace macro moves_page(date_to, branch_ids, sort, page_size, skip) as table
with listed as materialized (  -- worked out once, for the rows kept and the total
    select *, from copies_to_move(date_to, branch_ids)
),
kept as (  -- the best rows kept as the list is read (a top-N), never the whole list sorted
    select *,
    from listed
    order by
        case when sort::varchar = 'longest' then days_there end desc nulls last,
        from_branch_id, to_branch_id, on_shelf_since, item_id
    limit page_size offset coalesce(skip, 0)
)
select
    m.item_id,
    i.title,
    i.call_number,
    m.from_branch_id,
    f.name as from_branch,
    f.address as from_address,
    m.to_branch_id,
    t.name as to_branch,
    t.address as to_address,
    m.on_shelf_since,
    m.days_there,
    (select count(*), from listed) as total,
from kept as m
inner join items as i using (item_id)
inner join branches as f on f.branch_id = m.from_branch_id
inner join branches as t on t.branch_id = m.to_branch_id;

-- dead_stock: dead stock at the end of date_to: library copies on a shelf then, in stock for at least `months`
-- months and not lent (checkout or transfer) in those months. One row per such copy, with its last loan (empty: never).
create or replace macro dead_stock(date_to, months) as table
with p as (
    select d.*, (d.date_to - to_months(coalesce(months::integer, 6)))::date as cutoff,
    from period(null, date_to) as d
)
select s.item_id, s.home_branch_id, s.branch_id, s.added_on, s.last_loan_at, p.date_to, p.cutoff,
from copies_then(date_to) as s, p
where s.owner = 'library' and s.place = 'shelf'
  and (s.added_on is null or s.added_on <= p.cutoff)
  and (s.last_loan_at is null or s.last_loan_at < p.cutoff);

-- month_no: a month as one integer (year * 12 + month - 1), the unit of the activity bitmaps.
create or replace macro month_no(d) as year(d) * 12 + month(d) - 1;

-- month_mask: the bits of months first_no..last_no (month numbers) within 120-month block `blk` of a bitmap.
create or replace macro month_mask(first_no, last_no, blk) as
    case
        when greatest(first_no - blk * 120, 0) <= least(last_no - blk * 120, 119)
            then (1::hugeint << (least(last_no - blk * 120, 119) + 1))
            - (1::hugeint << greatest(first_no - blk * 120, 0))
        else 0::hugeint
    end;

-- period_parts: one row, the period cut where the stored monthly numbers can answer it exactly. Whole
-- months [full_from, full_to) come from the rollups (months first_no..last_no, none when last_no < first_no);
-- the loan days of the period outside them (the ragged edges) from the loans. A month counts as whole when
-- the period holds every day of it that has loans: the data's first and last months are whole from the data's
-- first and last day. `every_month`: the whole months hold every month with loans (every stored bit counts).
create or replace macro period_parts(date_from, date_to) as table
with span as (
    select
        p.date_from,
        p.date_to,
        p.end_ts,
        greatest(p.date_from, coalesce(d.first_day, p.date_from)) as lo,
        least(p.date_to, coalesce(d.last_day, p.date_to)) as hi,
        coalesce(d.first_day, p.date_from) as first_day,
        coalesce(d.last_day, p.date_to) as last_day,
        month_no(d.first_day) as data_first_no,
        month_no(d.last_day) as data_last_no,
    from period(date_from, date_to) as p,
        -- one row, empty without loans; read from the table's statistics
        (select min(day) as first_day, max(day) as last_day, from loans_day) as d
),
cut as (
    select
        *,
        case
            when lo = date_trunc('month', lo) or lo = first_day then date_trunc('month', lo)
            else date_trunc('month', lo) + interval 1 month
        end::date as full_from,
        case
            when hi = last_day(hi) or hi = last_day then date_trunc('month', hi) + interval 1 month
            else date_trunc('month', hi)
        end::date as full_until,
    from span
)
select
    date_from,
    date_to,
    end_ts,
    lo,
    hi,
    full_from,
    greatest(full_until, full_from) as full_to,
    month_no(full_from) as first_no,
    month_no(greatest(full_until, full_from)) - 1 as last_no,
    month_no(full_from) // 120 as first_block,
    (month_no(greatest(full_until, full_from)) - 1) // 120 as last_block,
    coalesce(month_no(full_from) <= data_first_no and month_no(greatest(full_until, full_from)) - 1 >= data_last_no,
             false) as every_month,
from cut;

-- edge_loans: the loans of the period outside its whole months (see period_parts), with integer keys.
-- Two ranges of days, so the scan of the loans (stored in time order) skips what lies outside them.
create or replace macro edge_loans(date_from, date_to) as table
select l.*,
from loans as l, period_parts(date_from, date_to) as p
where l.day >= p.lo and l.day <= p.hi and l.day < p.full_from
union all
select l.*,
from loans as l, period_parts(date_from, date_to) as p
where l.day >= p.lo and l.day <= p.hi and l.day >= p.full_to;

-- readers_in_period: one row per reader (reader_no) who took a copy in the period, at any branch or (branch_ids)
-- at these branches: whole months from the activity bitmaps of readers (of readers at branches), the ragged
-- edges from the loans. At any branch, a bitmap row is one per reader in a 120-month block, so only a period over two
-- blocks, and the readers of the edges, need a look for readers already found.
create or replace macro readers_in_period(date_from, date_to, branch_ids) as table
with p as (
    select
        p.*,
        coalesce(len(branch_ids::varchar[]), 0) = 0 as every_branch,
    from period_parts(date_from, date_to) as p
),
whole as (
    select r.reader_no,
    from reader_months as r, p
    where p.every_branch and (p.every_month
      or r.block between p.first_block and p.last_block and r.months & month_mask(p.first_no, p.last_no, r.block) <> 0)
    union all
    select r.reader_no,
    from reader_branch_months as r, p
    where not p.every_branch and r.branch_no in (select b.branch_no, from branch_nos(branch_ids) as b)
      and (p.every_month
      or r.block between p.first_block and p.last_block and r.months & month_mask(p.first_no, p.last_no, r.block) <> 0)
),
edges as (
    select distinct l.reader_no,
    from edge_loans(date_from, date_to) as l, p
    where p.every_branch or l.branch_no in (select b.branch_no, from branch_nos(branch_ids) as b)
)
select w.reader_no,
from whole as w, p
where p.every_branch and p.first_block = p.last_block
union all
select distinct w.reader_no,
from whole as w, p
where not (p.every_branch and p.first_block = p.last_block)
union all
select e.reader_no,
from edges as e
anti join whole as w on e.reader_no = w.reader_no;

-- readers_by_branch_in_period: one row per branch (branch_no; 0 for transfers of chains that started before the
-- data) with the distinct readers who took a copy there in the period. Whole months from the bitmaps of readers
-- at branches (one row per branch and reader when the months lie in one 120-month block, so a count of rows;
-- distinct readers only when they span two), then the readers of the ragged edges not already counted.
create or replace macro readers_by_branch_in_period(date_from, date_to) as table
with parts as (
    select *, from period_parts(date_from, date_to)
),
masks as (  -- the period's whole months as bits of each block they lie in
    select r.block::integer as block, month_mask(p.first_no, p.last_no, r.block) as mask,  -- the stored type
    from parts as p, range(p.first_block, p.last_block + 1) as r (block)
    where not p.every_month
),
whole as (  -- every stored bit when the whole months are every month with loans, else those of the masks
    select r.branch_no, r.reader_no,
    from reader_branch_months as r, parts as p
    where p.every_month
    union all
    select r.branch_no, r.reader_no,
    from reader_branch_months as r
    inner join masks as m using (block)
    where r.months & m.mask <> 0
),
edge as (
    select distinct coalesce(branch_no, 0) as branch_no, reader_no,
    from edge_loans(date_from, date_to)
),
counted as (
    select w.branch_no, count(*) as readers,
    from whole as w, parts as p
    where p.first_block = p.last_block
    group by w.branch_no
    union all
    select w.branch_no, count(distinct w.reader_no),
    from whole as w, parts as p
    where p.first_block < p.last_block
    group by w.branch_no
    union all
    select e.branch_no, count(*),
    from edge as e
    anti join whole as w on e.branch_no = w.branch_no and e.reader_no = w.reader_no
    group by e.branch_no
)
select branch_no, sum(readers)::bigint as readers,
from counted
group by branch_no;

-- home_loans_in_period: one row per home branch, class and owner of copies with loans in the period (loans of
-- copies not in the items table are left out): whole months as stored, the ragged edges from the loans; a period
-- that holds every loan (every_month) reads the sums over all months (loans_home_total).
create or replace macro home_loans_in_period(date_from, date_to) as table
with p as (
    select *, from period_parts(date_from, date_to)
),
parts as (
    select
        m.home_branch_id,
        m.clc_class,
        m.owner,
        m.checkouts,
        m.transfers,
    from loans_home_month as m, p
    where not p.every_month and m.month >= p.full_from and m.month < p.full_to
    union all
    select
        i.home_branch_id,
        i.clc_class,
        i.owner,
        count(*) filter (where not l.is_transfer),
        count(*) filter (where l.is_transfer),
    from edge_loans(date_from, date_to) as l
    inner join item_attrs as i on l.item_no = i.item_no
    group by all
)
select t.home_branch_id, t.clc_class, t.owner, t.checkouts, t.transfers, t.checkouts + t.transfers as loans,
from loans_home_total as t, p
where p.every_month
union all
select
    home_branch_id,
    clc_class,
    owner,
    sum(checkouts)::bigint as checkouts,
    sum(transfers)::bigint as transfers,
    sum(checkouts + transfers)::bigint as loans,
from parts
group by all;

-- lending_owning_in_period: one row per (lending branch, owning branch) pair with loans in the period: the lending
-- branch is the loan's (a checkout's branch, a transfer's chain start; empty when that start lies before the data),
-- the owning branch the copy's home branch (loans of copies not in the items table are left out). With branch_ids,
-- only loans lent by or of copies owned by those branches. Whole months as stored (loans_lending_month), the ragged
-- edges from the loans; a period that holds every loan (every_month) reads the pairs' sums over all months
-- (loans_lending_total). The one definition the lending and owning queries share.
create or replace macro lending_owning_in_period(date_from, date_to, branch_ids) as table
with p as (
    select *, from period_parts(date_from, date_to)
),
parts as (
    select m.branch_no, m.home_branch_id, m.checkouts, m.transfers,
    from loans_lending_month as m, p
    where not p.every_month and m.month >= p.full_from and m.month < p.full_to
    union all
    select
        l.branch_no,
        i.home_branch_id,
        count(*) filter (where not l.is_transfer),
        count(*) filter (where l.is_transfer),
    from edge_loans(date_from, date_to) as l
    inner join item_attrs as i on l.item_no = i.item_no
    group by all
),
summed as (  -- summed on the lending branch's number and named after: a join of the pairs, not of every month's row
    select t.branch_no, t.home_branch_id, t.checkouts, t.transfers,
    from loans_lending_total as t, p
    where p.every_month
    union all
    select branch_no, home_branch_id, sum(checkouts)::bigint as checkouts, sum(transfers)::bigint as transfers,
    from parts
    group by all
)
select
    k.branch_id as lending_branch_id,
    s.home_branch_id as owning_branch_id,
    s.checkouts,
    s.transfers,
    s.checkouts + s.transfers as loans,
from summed as s
left join branch_keys as k using (branch_no)
where coalesce(len(branch_ids::varchar[]), 0) = 0
   or list_contains(branch_ids::varchar[], k.branch_id)
   or list_contains(branch_ids::varchar[], s.home_branch_id);

-- copies_borrowed: one row per copy in the items file (item_no) with its home branch, owner and the day it was
-- added, and whether it was borrowed (a checkout or a transfer) in the period. When the period holds every loan
-- (every_month: its whole months hold every month with loans, so it has no ragged edges), a copy was borrowed when
-- it has a latest loan (copy_state), with no join of the borrowed copies. Otherwise from the copies lent (`lent`):
-- whole months from the copies' activity bitmaps, the ragged edges from the loans. A bitmap row is one per copy in a
-- 120-month block, so only a period over two blocks, and the copies of the edges, need a look for copies already
-- found. (With every_month there are no masks and no edges, so `lent` reads next to nothing.)
create or replace macro copies_borrowed(date_from, date_to) as table
with p as (
    select *, from period_parts(date_from, date_to)
),
masks as (  -- the period's whole months as bits of each block they lie in
    select r.block::integer as block, month_mask(p.first_no, p.last_no, r.block) as mask,  -- the stored type
    from p, range(p.first_block, p.last_block + 1) as r (block)
    where not p.every_month
),
whole as (
    select m.item_no,
    from item_months as m
    inner join masks as k on m.block = k.block
    where m.months & k.mask <> 0
),
lent as (
    select w.item_no,
    from whole as w, p
    where p.first_block = p.last_block
    union all
    select distinct w.item_no,
    from whole as w, p
    where p.first_block < p.last_block
    union all
    select e.item_no,
    from (select distinct item_no, from edge_loans(date_from, date_to)) as e
    anti join whole as w on e.item_no = w.item_no
)
select s.item_no, s.home_branch_id, s.owner, s.added_on, s.last_loan_at is not null as borrowed,
from copy_state as s, p
where p.every_month and s.in_items
union all
select i.item_no, i.home_branch_id, i.owner, i.added_on, b.item_no is not null,
from item_attrs as i
cross join p
left join lent as b on i.item_no = b.item_no
where not p.every_month;

-- When each reader became a reader, and where (metrics.md, "new readers"). With a registration date (办证日期)
-- in the readers file that is the day; without one it is the first loan in the data, which in the data's first
-- `warmup_months` months (default 3) may be a long-time reader's first loan since the data began: `censored`.
-- Where: the branch of the first loan (a transfer: where its chain started), else the registration branch.
-- `long_time`: registered before the data began, so the first loan in the data is not the reader's first.
-- `next_day`: the first day after first_day with a loan, up to date_to (retention).
create or replace macro new_readers(date_to, warmup_months) as table
with span as (
    select
        p.date_to,
        d.first_day,
        date_trunc('month', d.first_day) + to_months(coalesce(warmup_months::integer, 3)) as warm_until,
    from period(null, date_to) as p, (select min(first_at)::date as first_day, from event_span) as d
),
firsts as (  -- the first loan up to date_to (reader_firsts), and the first later day with a loan by then
    select f.reader_no, b.branch_id, f.first_at::date as first_day,
        case when f.next_day <= s.date_to then f.next_day end as next_day,
    from reader_firsts as f
    cross join span as s
    left join branch_keys as b using (branch_no)
    where f.first_at::date <= s.date_to
),
everyone as (  -- the readers file keyed by number (reader_attrs)
    select coalesce(f.reader_no, r.reader_no) as reader_no, r.registered_on, r.home_branch_id, f.branch_id,
        f.first_day, f.next_day,
    from firsts as f
    full join reader_attrs as r using (reader_no)
)
select
    e.reader_no,
    coalesce(least(e.registered_on, e.first_day), e.registered_on, e.first_day) as won_on,
    coalesce(e.branch_id, e.home_branch_id) as branch_id,
    e.first_day,
    e.next_day,
    e.registered_on is not null as by_registration,
    e.registered_on is null and e.first_day < s.warm_until as censored,
    coalesce(e.registered_on < s.first_day, false) as long_time,
from everyone as e, span as s
where coalesce(least(e.registered_on, e.first_day), e.registered_on, e.first_day) <= s.date_to;

-- reader_loans_in_period: the loans of the period, at any branch or (branch_ids) at these branches, per type and
-- birth year of the reader (empty: not in the readers file): whole months as stored (loans_reader_month), the
-- ragged edges from the loans.
create or replace macro reader_loans_in_period(date_from, date_to, branch_ids) as table
with chosen as (
    select coalesce(len(branch_ids::varchar[]), 0) = 0 as every_branch,
),
parts as (
    select m.reader_type, m.birth_year, m.loans,
    from loans_reader_month as m, period_parts(date_from, date_to) as p, chosen as c
    where m.month >= p.full_from and m.month < p.full_to and m.all_branches = c.every_branch
      and (c.every_branch or m.branch_no in (select b.branch_no, from branch_nos(branch_ids) as b))
    union all
    select r.reader_type, r.birth_year, count(*),
    from edge_loans(date_from, date_to) as l
    cross join chosen as c
    left join reader_attrs as r on l.reader_no = r.reader_no
    where c.every_branch or l.branch_no in (select b.branch_no, from branch_nos(branch_ids) as b)
    group by all
)
select reader_type, birth_year, sum(loans)::bigint as loans,
from parts
group by all;

-- dead_stock_listed: the dead stock list at the end of date_to (`dead_stock_by_item_full`, its download; its pages are
-- dead_stock_page): one row per copy of dead stock (see dead_stock), where it belongs, where
-- it sits and its last loan (empty: never); with branch_ids, only copies whose home branch is one of these.
create or replace macro dead_stock_listed(date_to, months, branch_ids) as table
select
    d.item_id,
    i.title,
    i.call_number,
    i.clc_class,
    d.home_branch_id,
    h.name as home_branch,
    d.branch_id as shelf_branch_id,
    s.name as shelf_branch,
    i.added_on,
    d.last_loan_at::date as last_loan_on,
from dead_stock(date_to, months) as d
inner join items as i using (item_id)
left join branches as h on h.branch_id = d.home_branch_id
left join branches as s on s.branch_id = d.branch_id
where coalesce(len(branch_ids::varchar[]), 0) = 0 or list_contains(branch_ids::varchar[], d.home_branch_id);

-- dead_stock_page: rows skip + 1 to skip + page_size of dead_stock_listed in the order `sort` (see
-- `dead_stock_by_item`), and `total`, the rows of the whole list. The list is sorted and cut before the copies' titles
-- and the branches' names are joined, to the rows kept only.
create or replace macro dead_stock_page(date_to, months, branch_ids, sort, page_size, skip) as table
with listed as materialized (  -- worked out once, for the rows kept and the total
    select
        d.item_id, d.home_branch_id, d.branch_id, d.added_on, d.last_loan_at::date as last_loan_on,
        c.call_number,  -- for the order by call number alone
    from dead_stock(date_to, months) as d
    left join items as c on sort::varchar = 'call_number' and c.item_id = d.item_id
    where coalesce(len(branch_ids::varchar[]), 0) = 0 or list_contains(branch_ids::varchar[], d.home_branch_id)
),
kept as (  -- the best rows kept as the list is read (a top-N), never the whole list sorted
    select *,
    from listed
    order by
        case when sort::varchar = 'branch' then home_branch_id end,
        case when sort::varchar = 'call_number' then call_number end,
        last_loan_on nulls first, added_on nulls first, item_id
    limit page_size offset coalesce(skip, 0)
)
select
    d.item_id,
    i.title,
    i.call_number,
    i.clc_class,
    d.home_branch_id,
    h.name as home_branch,
    d.branch_id as shelf_branch_id,
    s.name as shelf_branch,
    i.added_on,
    d.last_loan_on,
    (select count(*), from listed) as total,
from kept as d
inner join items as i using (item_id)
left join branches as h on h.branch_id = d.home_branch_id
left join branches as s on s.branch_id = d.branch_id;

-- chains_listed: the drift chains list (`chains`, its page, and `chains_full`, its download): one row per chain
-- active on or after date_from (ended then or later, or its last event then or later) and started by the end of
-- date_to; with branch_ids, only chains started or ended at these branches.
create or replace macro chains_listed(date_from, date_to, branch_ids) as table
select
    item_id,
    chain_no,
    started_at,
    ended_at,
    start_branch_id,
    end_branch_id,
    transfers,
    holders,
    status,
    partial,
    first_transfer_at,
    last_event_at,
from chains
where (date_from::date is null or coalesce(ended_at, last_event_at) >= date_from::date)
  and (date_to::date is null or started_at < date_to::date + interval 1 day)
  and (coalesce(len(branch_ids::varchar[]), 0) = 0
       or list_contains(branch_ids::varchar[], start_branch_id)
       or list_contains(branch_ids::varchar[], end_branch_id));

-- adrift: the copies adrift at the end of date_to (their chain open then, handed on at least once by then), one row
-- per copy with its chain, its current holder's pseudonym and how long it has been out; with branch_ids, only chains
-- that started at these branches. The list `chains_adrift` pages and `chains_adrift_full` downloads.
create or replace macro adrift(date_to, branch_ids) as table
with p as (
    select *, from period(null, date_to)
),
open_then as (  -- few: the chains still open at the end of the day, handed on by then; a copy's last chain as
                -- copy_state holds it, an earlier one from the chains (a copy has one chain open at a time)
    select
        c.* exclude (holder_no, holder), coalesce(c.holder, k.reader) as holder,
        datediff('day', c.started_at::date, p.date_to) as days_out, p.end_ts,
    from (
        select s.item_id, s.chain_no, s.start_branch_id, s.started_at, s.ended_at, s.first_transfer_at,
            s.last_event_at, s.transfers, s.holder_no, null as holder,
        from copy_state as s
        where s.chain_no is not null
        union all
        select c.item_id, c.chain_no, c.start_branch_id, c.started_at, c.ended_at, c.first_transfer_at,
            c.last_event_at, c.transfers, null, c.holder,
        from chains_before_last(date_to) as c
    ) as c
    cross join p
    left join reader_keys as k on k.reader_no = c.holder_no  -- named once kept
    where c.started_at < p.end_ts and (c.ended_at is null or c.ended_at >= p.end_ts)
      and c.first_transfer_at < p.end_ts
      and (coalesce(len(branch_ids::varchar[]), 0) = 0 or list_contains(branch_ids::varchar[], c.start_branch_id))
),
later as (  -- those with events after the day (handed on or returned later): their state then, from the transfers
    select
        t.item_id,
        t.chain_no,
        count(*) as transfers,
        max(t.occurred_at) as last_transfer_at,
        arg_max(t.reader, (t.occurred_at, t.event_key)) as holder,
    from chain_transfers as t
    semi join open_then as o on o.item_id = t.item_id and o.chain_no = t.chain_no and o.last_event_at >= o.end_ts
    cross join p
    where t.occurred_at < p.end_ts
    group by t.item_id, t.chain_no
),
transfers_then as (  -- the others are as stored: open, the last event a transfer (renewals are not in chains)
    select item_id, chain_no, transfers, last_event_at as last_transfer_at, holder,
    from open_then
    where last_event_at < end_ts
    union all
    select *, from later
)
select
    c.item_id, c.chain_no, c.start_branch_id, c.started_at, t.last_transfer_at, t.transfers + 1 as holders,
    c.days_out, t.holder,
from open_then as c
inner join transfers_then as t using (item_id, chain_no);

-- unborrowed: the library copies (owner = library) added by date_to and never borrowed (no checkout or transfer) up to
-- that day, with their home branch and the day they were added, as copy_state holds them; with branch_ids, only
-- copies whose home branch is one of these. From copy_state (its latest loan), and for the copies lent after that
-- day, their loans up to it.
create or replace macro unborrowed(date_to, branch_ids) as table
with p as (
    select *, from period(null, date_to)
),
unlent as (  -- the library copies in stock by then whose latest loan is not before the end of that day
    select s.item_id, s.item_no, s.home_branch_id, s.added_on, s.last_loan_at,
    from copy_state as s, p
    where s.in_items and s.owner = 'library' and (s.added_on is null or s.added_on <= p.date_to)
      and (s.last_loan_at is null or s.last_loan_at >= p.end_ts)
      and (coalesce(len(branch_ids::varchar[]), 0) = 0 or list_contains(branch_ids::varchar[], s.home_branch_id))
),
later as (
    select u.item_no, from unlent as u where u.last_loan_at is not null
),
lent_before as (  -- of the copies lent later, those lent by then too
    select distinct l.item_no,
    from loans as l, p
    where (select count(*), from later) > 0 and l.item_no in (select item_no, from later) and l.occurred_at < p.end_ts
)
select u.item_id, u.home_branch_id, u.added_on, p.date_to,
from unlent as u
cross join p
anti join lent_before as x on x.item_no = u.item_no;

-- never_borrowed: the weeding list at date_to (`items_never_borrowed_full`, its download; its pages are
-- never_borrowed_page): one row per copy of unborrowed, how long it has been in stock.
create or replace macro never_borrowed(date_to, branch_ids) as table
select
    i.item_id,
    i.title,
    i.author,
    i.call_number,
    i.clc_class,
    i.home_branch_id,
    b.name as home_branch,
    i.added_on,
    datediff('day', i.added_on, u.date_to) as days_in_stock,
from unborrowed(date_to, branch_ids) as u
inner join items as i on i.item_id = u.item_id
left join branches as b on b.branch_id = i.home_branch_id;

-- never_borrowed_page: rows skip + 1 to skip + page_size of never_borrowed in the order `sort` (see
-- `items_never_borrowed`), and `total`, the rows of the whole list. The list is sorted and cut before the copies'
-- titles and the branches' names are joined, to the rows kept only.
create or replace macro never_borrowed_page(date_to, branch_ids, sort, page_size, skip) as table
with listed as materialized (  -- worked out once, for the rows kept and the total
    select
        u.item_id, u.home_branch_id, u.added_on, u.date_to,
        c.call_number,  -- for the order by call number alone
    from unborrowed(date_to, branch_ids) as u
    left join items as c on sort::varchar = 'call_number' and c.item_id = u.item_id
),
kept as (  -- the best rows kept as the list is read (a top-N), never the whole list sorted
    select *,
    from listed
    order by
        case when sort::varchar = 'branch' then home_branch_id end,
        case when sort::varchar = 'call_number' then call_number end,
        added_on nulls first, item_id
    limit page_size offset coalesce(skip, 0)
)
select
    i.item_id,
    i.title,
    i.author,
    i.call_number,
    i.clc_class,
    i.home_branch_id,
    b.name as home_branch,
    i.added_on,
    datediff('day', i.added_on, u.date_to) as days_in_stock,
    (select count(*), from listed) as total,
from kept as u
inner join items as i on i.item_id = u.item_id
left join branches as b on b.branch_id = i.home_branch_id;
