-- rejects_by_import: one row per problem found in import $import_id: the file's line, the file's own column and the
-- contract's field, the value (reader identifiers as pseudonyms), the reason (a catalogue key `reject_<reason>`
-- with its detail, said in the reader's language by the page) and its severity: reject (the row was not stored) or
-- warning (stored; an optional cell that broke its rule was left empty).
-- $import_id integer: the import
select
    line,
    coalesce(file_column, column_name) as file_column,
    column_name,
    value,
    reason,
    detail,
    severity,
from rejects
where import_id = $import_id::integer
order by line, column_name nulls first, reason
