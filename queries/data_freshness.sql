-- data_freshness: one row, how fresh the data is: when the newest import that brought data arrived (the sample's
-- are not counted) and the newest event's day.
-- $time_zone: the IANA zone times are shown in (filled by queries.run: Asia/Shanghai unless configured).
select
    (
        select max(timezone($time_zone, imported_at)),
        from imports
        where status = 'imported' and undone_at is null and user_name <> 'sample'
    ) as last_import_at,
    (select max(last_at)::date, from event_span) as as_of,
