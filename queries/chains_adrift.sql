-- chains_adrift: one page of the copies adrift at the end of $date_to (see adrift), one row per copy: its chain open,
-- handed on at least once, with its current holder's pseudonym (for staff; never shown to officials); `total`, the
-- copies the filters keep. The whole list (a download) is `chains_adrift_full`.
-- $date_to date: the day (default: last day of the data)
-- $branch_ids varchar[]: only chains that started at these branches (default: all)
-- $sort varchar: `longest` (longest out first; default), `holders` (most holders first)
-- $page_size integer: rows in the page (default 100)
-- $skip integer: rows skipped before the page (default 0)
with listed as materialized (  -- worked out once, for the rows kept and the total
    select *, from adrift($date_to, $branch_ids)
),
kept as (  -- the best rows kept as the list is read (a top-N), never the whole list sorted
    select *,
    from listed
    order by case when $sort::varchar = 'holders' then holders end desc nulls last, days_out desc, item_id
    limit coalesce($page_size::integer, 100) offset coalesce($skip::integer, 0)
)
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
    (select count(*), from listed) as total,
from kept as c
left join items as i using (item_id)
left join branches as b on b.branch_id = c.start_branch_id
order by case when $sort::varchar = 'holders' then c.holders end desc nulls last, c.days_out desc, c.item_id
