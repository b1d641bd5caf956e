-- rejects_by_import: one row per problem found in import $import_id: the file's line, the column, the value
-- (reader identifiers as pseudonyms) and why; severity reject (the row was not stored) or warning.
-- $import_id integer: the import
select
    line,
    column_name,
    value,
    reason,
    severity,
from rejects
where import_id = $import_id::integer
order by line, column_name nulls first, reason
