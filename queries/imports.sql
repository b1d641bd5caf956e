-- imports: one row per import (a file read, or refused whole), newest first; times in the dashboard's zone.
-- $time_zone: the IANA zone times are shown in (filled by queries.run: Asia/Shanghai unless configured).
select
    import_id,
    timezone($time_zone, imported_at) as imported_at,
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
    timezone($time_zone, undone_at) as undone_at,
    undone_by,
from imports
order by import_id desc
