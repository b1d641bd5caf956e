-- items_never_borrowed_full: the whole weeding list at $date_to (see never_borrowed; the download of
-- `items_never_borrowed`, same columns but `total`), longest in stock first. At the data's last day (the default) it
-- is the stored weeding list (table weeding_list, no loan at all) of the copies in stock by then.
-- $date_to date: the day to look back from (default: last day of the data)
-- $branch_ids varchar[]: only copies whose home branch is one of these (default: all)
select
    u.item_id,
    u.title,
    u.author,
    u.call_number,
    u.clc_class,
    u.home_branch_id,
    b.name as home_branch,
    u.added_on,
    datediff('day', u.added_on, p.date_to) as days_in_stock,
from weeding_list as u
cross join period(null, null) as p
left join branches as b on b.branch_id = u.home_branch_id
where $date_to is null and (u.added_on is null or u.added_on <= p.date_to)
  and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], u.home_branch_id))
union all
select *,
from never_borrowed($date_to, $branch_ids)
where $date_to is not null
order by added_on nulls first, item_id
