-- data_status: one row, what the data is: its span, its "as of" day and the data set's name.
select
    (select min(occurred_at)::date, from events) as first_day,
    (select max(occurred_at)::date, from events) as as_of,
    coalesce((select value, from meta where key = 'data_set'), 'sample') as data_set,
    (select count(*), from events) as events,
    (select count(*), from imports) as imports,
