-- The stored facts. Reader identifiers are pseudonyms (`reader`, `from_reader`, `owner_reader`);
-- no raw reader identifier or personal column is ever stored.
create table if not exists branches (
    branch_id varchar primary key,
    name varchar not null,
    kind varchar not null,
    host_type varchar,
    town_code varchar,
    address varchar,
    lat double not null,
    lon double not null,
    opened_on date not null,
    closed_on date,
    public_access boolean not null default true,
    host_population integer,
    volumes integer
);

create table if not exists items (
    item_id varchar primary key,
    title varchar not null,
    author varchar,
    isbn varchar,
    call_number varchar,
    clc_class varchar,
    clc_subclass varchar,
    home_branch_id varchar,
    owner varchar not null default 'library',
    owner_reader varchar,
    added_on date,
    price decimal(12, 2)
);

create table if not exists readers (
    reader varchar primary key,
    registered_on date,
    home_branch_id varchar,
    community_code varchar,
    birth_year integer,
    reader_type varchar
);

create table if not exists communities (
    community_code varchar primary key,
    name varchar not null,
    town_code varchar not null,
    population integer not null,
    lat double not null,
    lon double not null
);

create table if not exists events (
    event_key varchar not null,
    occurred_at timestamp not null,
    action varchar not null,
    item_id varchar not null,
    reader varchar not null,
    from_reader varchar,
    branch_id varchar,
    channel varchar,
    due_at date,
    import_id integer not null
);

-- Derived from events by microbranch/chains.sql after every import of events.
create table if not exists chains (
    item_id varchar not null,
    chain_no integer not null,
    started_at timestamp not null,
    ended_at timestamp,
    start_branch_id varchar,
    end_branch_id varchar,
    transfers integer not null,
    holders integer not null,
    status varchar not null,
    partial boolean not null,
    first_transfer_at timestamp,
    last_event_at timestamp not null,
    holder varchar
);

create table if not exists chain_transfers (
    event_key varchar not null,
    item_id varchar not null,
    chain_no integer not null,
    occurred_at timestamp not null,
    reader varchar not null,
    from_reader varchar,
    expected_holder varchar,
    start_branch_id varchar,
    anomaly boolean not null
);

create sequence if not exists import_seq;

create table if not exists imports (
    import_id integer primary key,
    imported_at timestamptz not null,
    user_name varchar not null,
    file_name varchar not null,
    size_bytes bigint not null,
    sha256 varchar not null,
    kind varchar,
    encoding varchar,
    lines_read bigint not null,
    accepted bigint not null,
    rejected bigint not null,
    duplicates bigint not null,
    orphans bigint not null default 0,
    columns_dropped varchar[],
    columns_ignored varchar[],
    status varchar not null,
    message varchar
);

create table if not exists rejects (
    import_id integer not null,
    file_name varchar not null,
    line bigint not null,
    column_name varchar,
    value varchar,
    reason varchar not null,
    severity varchar not null default 'reject'
);

create table if not exists meta (key varchar primary key, value varchar);

-- Added by the column mapping and undo of imports: the file's own column and the reason's detail on each reject
-- (the reason is a catalogue key, said in the reader's language); the mapping an import used, and its undo.
alter table rejects add column if not exists file_column varchar;
alter table rejects add column if not exists detail varchar;
alter table imports add column if not exists mapping varchar;
alter table imports add column if not exists undone_at timestamptz;
alter table imports add column if not exists undone_by varchar;

-- What an import of branches, items, readers or communities did to each row it stored: the row before
-- (null: the row was new) and after, as JSON; so undoing it puts back what was there.
create table if not exists entity_changes (
    import_id integer not null,
    kind varchar not null,
    row_key varchar not null,
    before json,
    after json not null,
);
