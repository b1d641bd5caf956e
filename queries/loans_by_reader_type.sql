-- loans_by_reader_type: one row per reader type (empty: unknown, the reader is not in the readers file) with
-- loans in the period: the active readers of that type and their loans.
-- A checkout belongs to the branch where it was made, a transfer to the branch where its chain started.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans of these branches (default: all)
with counted as (  -- the period's loans (loans_in_period) per reader type, from the monthly counts
    select l.reader_type, sum(l.loans) as loans,
    from reader_loans_in_period($date_from, $date_to, $branch_ids) as l
    group by l.reader_type
),
active as (
    select r.reader_type, count(*) as active_readers,
    from readers_in_period($date_from, $date_to, $branch_ids) as a
    left join reader_attrs as r on a.reader_no = r.reader_no
    group by r.reader_type
)
select
    a.reader_type,
    a.active_readers,
    l.loans::bigint as loans,
    l.loans / a.active_readers as loans_per_reader,
from active as a
inner join counted as l on a.reader_type is not distinct from l.reader_type
order by loans desc, a.reader_type nulls last
