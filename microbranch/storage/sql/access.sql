-- The access file beside the database (<db>.access.duckdb): accounts, sign-in throttling, sessions and the
-- audit trail. Made by microbranch.audit.connect; never part of the published data.
create table if not exists users (
    name varchar primary key,
    role varchar not null,
    hash varchar not null,
    disabled boolean not null default false,
    created_at timestamp not null
);
create table if not exists throttle (  -- failed sign-ins in a row, per name (known or not) and per address
    kind varchar not null,  -- 'name' or 'address'
    key varchar not null,
    count integer not null,
    last_at timestamp not null,
    primary key (kind, key)
);
create table if not exists sessions (  -- signed-in browsers: the cookie holds a random id, this table its hash
    id varchar primary key,
    user_name varchar not null,
    role varchar not null,
    created_at timestamp not null,
    last_used timestamp not null,
    address varchar,
    user_agent varchar
);
create table if not exists audit (
    occurred_at timestamp not null,
    action varchar not null,
    user_name varchar,
    detail varchar,
    address varchar
);
