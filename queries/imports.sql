-- imports: one row per import (a file read, or refused whole), newest first; times in local time (Asia/Shanghai).
select
    import_id,
    timezone('Asia/Shanghai', imported_at) as imported_at,
    user_name,
    file_name,
    kind,
    encoding,
    lines_read,
    accepted,
    rejected,
    duplicates,
    orphans,
    status,
    message,
    timezone('Asia/Shanghai', undone_at) as undone_at,
    undone_by,
from imports
order by import_id desc
