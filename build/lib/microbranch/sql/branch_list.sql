-- branch_list: one row per branch, its identity and description.
select
    branch_id, name, kind, host_type, town_code, address, lat, lon, opened_on, closed_on, public_access,
    host_population, volumes,
from branches
order by case kind when 'central' then 0 when 'branch' then 1 else 2 end, branch_id
