-- orphans_of_import: one row per copy or branch that events of import $import_id name but the data does not hold
-- (yet): what is missing, and how many of the import's events wait for it.
-- $import_id integer: the import
with events_of_import as (
    select item_id, branch_id,
    from events
    where import_id = $import_id::integer
),

missing_copies as (
    select 'item' as missing, item_id as id, count(*) as events,
    from events_of_import
    where item_id not in (select item_id, from items)
    group by item_id
),

missing_branches as (
    select 'branch' as missing, branch_id as id, count(*) as events,
    from events_of_import
    where branch_id is not null and branch_id not in (select branch_id, from branches)
    group by branch_id
)

select *, from missing_branches
union all
select *, from missing_copies
order by missing, events desc, id
