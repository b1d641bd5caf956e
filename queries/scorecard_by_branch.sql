-- scorecard_by_branch: one row per micro-branch open on any day of the year of $date_to up to that day:
-- its transfers and distinct readers from 1 January to $date_to against yearly targets prorated for the
-- days it is open in the year, and the status of each: met (the prorated yearly target is reached),
-- on_track (at least the share of it due by $date_to), behind.
-- A branch's transfers are those of the chains started there; its readers took a copy there (checkout)
-- or in one of its chains (transfer). Reading events are not recorded in the data: no status for them.
-- $date_to date: the day the card is drawn up on (default: last day of the data)
-- $target_transfers double: transfers a year (from the scorecard settings)
-- $target_readers double: distinct readers a year (from the scorecard settings)
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
        -- days open: from the later of opening and 1 January, to the day before closing or the year's end
        greatest(0, datediff('day', greatest(b.opened_on, p.year_start),
                             least(coalesce(b.closed_on, p.next_year), p.next_year))) as days_open_in_year,
        greatest(0, datediff('day', greatest(b.opened_on, p.year_start),
                             least(coalesce(b.closed_on, p.next_year), p.date_to + 1))) as days_open_to_date,
    from branches as b, period as p
    where b.kind = 'micro' and b.opened_on <= p.date_to and (b.closed_on is null or b.closed_on > p.year_start)
),
loans as (
    select
        l.branch_id,
        count(*) filter (where l.action = 'transfer') as transfers,
        count(distinct l.reader) as readers,
    from period as p, loans_in_period(p.year_start, p.date_to) as l
    group by l.branch_id
),
scored as (
    select
        m.*,
        coalesce(l.transfers, 0)::bigint as transfers,
        coalesce(l.readers, 0)::bigint as readers,
        $target_transfers::double * m.days_open_in_year / m.days_in_year as transfers_target,
        $target_transfers::double * m.days_open_to_date / m.days_in_year as transfers_due,
        $target_readers::double * m.days_open_in_year / m.days_in_year as readers_target,
        $target_readers::double * m.days_open_to_date / m.days_in_year as readers_due,
    from micro as m
    left join loans as l using (branch_id)
),
final as (
    select
        *,
        case when transfers >= transfers_target then 'met' when transfers >= transfers_due then 'on_track'
            else 'behind' end as transfers_status,
        case when readers >= readers_target then 'met' when readers >= readers_due then 'on_track'
            else 'behind' end as readers_status,
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
        when 'behind' in (transfers_status, readers_status) then 'behind'
        when 'on_track' in (transfers_status, readers_status) then 'on_track'
        else 'met'
    end as status,
from final
order by case status when 'behind' then 0 when 'on_track' then 1 else 2 end, branch_id
