-- rejects: one row per problem found by every import (or by import $import_id), oldest import first: the
-- import, its file and line, the column, the value (reader identifiers as pseudonyms) and why; severity
-- reject (the row was not stored) or warning.
-- $import_id integer: only this import (default: all)
select
    import_id,
    file_name,
    line,
    column_name,
    value,
    reason,
    severity,
from rejects
where $import_id::integer is null or import_id = $import_id::integer
order by import_id, line, column_name nulls first, reason
