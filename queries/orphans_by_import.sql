-- orphans_by_import: one row per import of events that has orphans now: events whose copy or branch is not (or no
-- longer) known. Computed from the stored data, so an import leaves this list by itself when the missing branches
-- and copies arrive: the branches each import's events name (import_branches) looked up in the branches file, and
-- the events of the copies the items file lacks (copies_unknown), found by their number.
with branches_missing as (
    select b.import_id, b.branch_id, b.events,
    from import_branches as b
    where b.branch_id is not null and b.branch_id not in (select branch_id, from branches)
),

copy_events as (
    select
        e.import_id,
        e.item_no,
        e.branch_id is not null and e.branch_id not in (select branch_id, from branches) as branch_missing,
    from event_rows as e
    where e.item_no in (select item_no, from copies_unknown)
),

counted as (  -- an event of a copy and a branch both missing is counted with its branch
    select import_id, sum(events) as orphans, 0 as copies_missing, count(*) as branches_missing,
    from branches_missing
    group by import_id
    union all
    select import_id, count(*) filter (where not branch_missing), count(distinct item_no), 0,
    from copy_events
    group by import_id
),

final as (
    select
        import_id,
        sum(orphans)::bigint as orphans,
        sum(copies_missing)::bigint as copies_missing,
        sum(branches_missing)::bigint as branches_missing,
    from counted
    group by import_id
)

select *, from final
order by import_id desc
