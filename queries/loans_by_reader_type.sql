-- loans_by_reader_type: one row per reader type (empty: unknown, the reader is not in the readers file) with
-- loans in the period: the active readers of that type and their loans.
-- A checkout belongs to the branch where it was made, a transfer to the branch where its chain started.
-- $date_from date: first day of the period (default: first day of the data)
-- $date_to date: last day of the period (default: last day of the data)
-- $branch_ids varchar[]: only loans of these branches (default: all)
with per_reader as (
    select reader, count(*) as loans,
    from loans_in_period($date_from, $date_to)
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], branch_id)
    group by reader
)
select
    r.reader_type,
    count(*) as active_readers,
    sum(l.loans)::bigint as loans,
    sum(l.loans) / count(*) as loans_per_reader,
from per_reader as l
left join readers as r using (reader)
group by r.reader_type
order by loans desc, r.reader_type nulls last
