-- data_status: one row, what the data is: its span, its "as of" day and the data set's name.
select
    (select min(first_at)::date, from event_span) as first_day,
    (select max(last_at)::date, from event_span) as as_of,
    coalesce((select value, from meta where key = 'data_set'), 'sample') as data_set,
    (select count(*), from event_rows) as events,
    (select count(*), from imports) as imports,
