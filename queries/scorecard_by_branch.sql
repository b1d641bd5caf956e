-- scorecard_by_branch: one row per micro-branch open on any day of the year of $date_to up to that day:
-- its transfers and distinct readers from 1 January to $date_to against yearly targets prorated for the
-- days it is open in the year, the status of each: met (the prorated yearly target is reached), on_track (at
-- least the share of it due by $date_to), behind; and its place among its peers.
-- A branch opened fewer than $grace_days days before $date_to (that day included) is `new`: not judged, not ranked.
-- Yearly targets are explicit when given, else the median of comparable branches: the judged micro-branches of the
-- same host type when there are at least 3 of them, else all judged micro-branches (`peer_group`), each taken at
-- its pace a year (its count to date times the days of the year over its days open to date).
-- `peer_index`: the branch's pace against its peers' median, the mean over transfers and readers (1 = median);
-- `peer_rank`: 1 for the highest index among the judged branches.
-- A branch's transfers are those of the chains started there; its readers took a copy there (checkout)
-- or in one of its chains (transfer). Reading events are not recorded in the data: no status for them.
-- $date_to date: the day the card is drawn up on (default: last day of the data)
-- $target_transfers double: transfers a year (default: the peers' median)
-- $target_readers double: distinct readers a year (default: the peers' median)
-- $grace_days integer: days open before a branch is judged (default 90)
-- $branch_ids varchar[]: only these branches' rows (default: all); peers and ranks stay those of the network
with period as (
    select
        p.date_to,
        date_trunc('year', p.date_to)::date as year_start,
        (date_trunc('year', p.date_to) + interval 1 year)::date as next_year,
    from period(null, $date_to) as p
),
micro as (
    select
        b.branch_id,
        b.name,
        b.host_type,
        b.town_code,
        b.opened_on,
        b.closed_on,
        p.date_to,
        p.year_start,
        datediff('day', p.year_start, p.next_year) as days_in_year,
        datediff('day', b.opened_on, p.date_to) + 1 as days_since_opening,
        -- days open: from the later of opening and 1 January, to the day before closing or the year's end
        greatest(0, datediff('day', greatest(b.opened_on, p.year_start),
                             least(coalesce(b.closed_on, p.next_year), p.next_year))) as days_open_in_year,
        greatest(0, datediff('day', greatest(b.opened_on, p.year_start),
                             least(coalesce(b.closed_on, p.next_year), p.date_to + 1))) as days_open_to_date,
    from branches as b, period as p
    where b.kind = 'micro' and b.opened_on <= p.date_to and (b.closed_on is null or b.closed_on > p.year_start)
),
year_loans as (  -- transfers from the counts per day and branch, readers from the bitmaps and the ragged edges
    select d.branch_no, sum(d.transfers)::bigint as transfers,
    from loans_day as d, period as p
    where d.day >= p.year_start and d.day <= p.date_to
    group by d.branch_no
),
loans as (
    select k.branch_id, coalesce(y.transfers, 0) as transfers, coalesce(r.readers, 0) as readers,
    from year_loans as y
    -- (the year's first day passed as a value: a table macro given a column of another table is planned as a join
    -- per row of it, which took a third of this query)
    full join readers_by_branch_in_period((select p.year_start, from period as p), $date_to) as r using (branch_no)
    inner join branch_keys as k using (branch_no)
),
counted as (
    select
        m.*,
        coalesce(l.transfers, 0)::bigint as transfers,
        coalesce(l.readers, 0)::bigint as readers,
        m.days_since_opening < coalesce($grace_days::integer, 90) as is_new,
    from micro as m
    left join loans as l using (branch_id)
),
paced as (  -- counts at their pace a year, for judged branches
    select
        *,
        case when not is_new then transfers * days_in_year / days_open_to_date end as transfers_a_year,
        case when not is_new then readers * days_in_year / days_open_to_date end as readers_a_year,
    from counted
),
by_host as (
    select host_type, count(*) as peers, median(transfers_a_year) as transfers_median,
        median(readers_a_year) as readers_median,
    from paced
    where not is_new
    group by host_type
),
network as (
    select count(*) as peers, median(transfers_a_year) as transfers_median, median(readers_a_year) as readers_median,
    from paced
    where not is_new
),
peered as (
    select
        p.*,
        case when h.peers >= 3 then 'host_type' else 'network' end as peer_group,
        case when h.peers >= 3 then h.peers else n.peers end as peers,
        case when h.peers >= 3 then h.transfers_median else n.transfers_median end as transfers_median,
        case when h.peers >= 3 then h.readers_median else n.readers_median end as readers_median,
    from paced as p
    cross join network as n
    left join by_host as h on p.host_type = h.host_type
),
scored as (
    select
        *,
        coalesce($target_transfers::double, transfers_median) as transfers_yearly,
        coalesce($target_readers::double, readers_median) as readers_yearly,
        coalesce($target_transfers::double, transfers_median) * days_open_in_year / days_in_year as transfers_target,
        coalesce($target_transfers::double, transfers_median) * days_open_to_date / days_in_year as transfers_due,
        coalesce($target_readers::double, readers_median) * days_open_in_year / days_in_year as readers_target,
        coalesce($target_readers::double, readers_median) * days_open_to_date / days_in_year as readers_due,
        (coalesce(transfers_a_year / nullif(transfers_median, 0), 1)
            + coalesce(readers_a_year / nullif(readers_median, 0), 1)) / 2 as peer_index,
    from peered
),
final as (
    select
        *,
        case when is_new then 'new' when transfers >= transfers_target then 'met'
            when transfers >= transfers_due then 'on_track' else 'behind' end as transfers_status,
        case when is_new then 'new' when readers >= readers_target then 'met'
            when readers >= readers_due then 'on_track' else 'behind' end as readers_status,
        case when not is_new then rank() over (partition by is_new order by peer_index desc) end as peer_rank,
    from scored
)
select
    branch_id,
    name,
    host_type,
    town_code,
    opened_on,
    closed_on,
    year_start,
    days_in_year,
    days_open_in_year,
    days_open_to_date,
    transfers,
    transfers_target,
    transfers_due,
    transfers_status,
    readers,
    readers_target,
    readers_due,
    readers_status,
    case
        when is_new then 'new'
        when 'behind' in (transfers_status, readers_status) then 'behind'
        when 'on_track' in (transfers_status, readers_status) then 'on_track'
        else 'met'
    end as status,
    transfers_yearly,
    readers_yearly,
    peer_group,
    peers,
    case when not is_new then peer_index end as peer_index,
    peer_rank,
from final
where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], branch_id)
order by peer_rank nulls last, branch_id
