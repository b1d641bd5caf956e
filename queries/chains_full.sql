-- chains_full: every drift chain the filters keep, one row per chain (see chains_listed; the download of `chains`,
-- same columns but `total`), by copy and chain number.
-- $date_from date: keep chains active on or after this day (default: all)
-- $date_to date: keep chains started on or before this day (default: all)
-- $branch_ids varchar[]: only chains started or ended at these branches (default: all)
select *,
from chains_listed($date_from, $date_to, $branch_ids)
order by item_id, chain_no
