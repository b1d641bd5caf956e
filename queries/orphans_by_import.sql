-- orphans_by_import: one row per import of events that has orphans now: events whose copy or branch is not (or no
-- longer) known. Computed from the stored data, so an import leaves this list by itself when the missing branches
-- and copies arrive.
with orphan_events as (
    select
        e.import_id,
        e.item_id,
        e.branch_id,
        e.item_id not in (select item_id, from items) as copy_missing,
        e.branch_id is not null and e.branch_id not in (select branch_id, from branches) as branch_missing,
    from events as e
),

final as (
    select
        import_id,
        count(*) as orphans,
        count(distinct item_id) filter (where copy_missing) as copies_missing,
        count(distinct branch_id) filter (where branch_missing) as branches_missing,
    from orphan_events
    where copy_missing or branch_missing
    group by import_id
)

select *, from final
order by import_id desc
