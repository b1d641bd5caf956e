-- rejects: one row per problem found by every import (or by import $import_id), oldest import first: the
-- import, its file and line, the file's own column, the value (reader identifiers as pseudonyms), the reason (a
-- catalogue key `reject_<reason>` with its detail, said in the reader's language by whoever shows it) and its
-- severity: reject (the row was not stored) or warning (stored, an optional cell left empty).
-- $import_id integer: only this import (default: all)
select
    import_id,
    file_name,
    line,
    coalesce(file_column, column_name) as file_column,
    column_name,
    value,
    reason,
    detail,
    severity,
from rejects
where $import_id::integer is null or import_id = $import_id::integer
order by import_id, line, column_name nulls first, reason
