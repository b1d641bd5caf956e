-- chains_adrift_full: every copy adrift at the end of $date_to the filters keep (see adrift; the download of
-- `chains_adrift`, same columns but `total`), longest out first.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
select
    c.item_id,
    i.title,
    c.chain_no,
    c.start_branch_id,
    b.name as start_branch,
    c.started_at,
    c.last_transfer_at,
    c.holders,
    c.days_out,
    c.holder,
from adrift($date_to, $branch_ids) as c
left join items as i using (item_id)
left join branches as b on b.branch_id = c.start_branch_id
order by c.days_out desc, c.item_id
