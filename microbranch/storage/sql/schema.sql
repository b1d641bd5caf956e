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

-- The events as stored: their copy and readers by number only (item_keys, reader_keys, given as they are stored;
-- a number never changes). `events`, below the keys, names them.
create table if not exists event_rows (
    event_key varchar not null,
    occurred_at timestamp not null,
    action varchar not null,
    item_no integer not null,
    reader_no integer not null,
    from_reader_no integer,
    branch_id varchar,
    channel varchar,
    due_at date,
    import_id integer not null
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
    after json not null
);

-- Derived from the events (microbranch/derived.py), kept for the copies each import touches. Created anew
-- when the schema version changes, then rebuilt from the events.

-- The drift chains (microbranch/chains.sql).
create or replace table chains (
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
    holder varchar,
    item_no integer not null  -- the copy's key (item_keys): an import finds its copies' chains by it
);

create or replace table chain_transfers (
    event_key varchar not null,
    item_id varchar not null,
    chain_no integer not null,
    occurred_at timestamp not null,
    reader varchar not null,
    from_reader varchar,
    expected_holder varchar,
    start_branch_id varchar,
    anomaly boolean not null,
    item_no integer not null
);

-- The drift chains with long_chain_holders() or more holders, as chains holds them (the columns the longest chains
-- show): a tenth of the chains or less, so the longest chains of a period read these instead of every chain. Kept by
-- delta from the chains an import or undo deletes and adds, as chains_month is.
create or replace table chains_long (
    item_id varchar not null,
    chain_no integer not null,
    started_at timestamp not null,
    ended_at timestamp,
    start_branch_id varchar,
    end_branch_id varchar,
    holders integer not null,
    status varchar not null,
    partial boolean not null
);

-- The drift chains ended in a month, per start branch, status then (returned or unterminated), partial and holders:
-- how many, how many crossed (returned at another branch than the start), and their days out in microseconds (for
-- days per holder). Kept by delta from the chains an import or undo deletes and adds (microbranch/chains.sql).
create or replace table chains_month (
    month date not null,
    start_branch_id varchar,
    status varchar not null,
    partial boolean not null,
    holders integer not null,
    chains bigint not null,
    crossed bigint not null,
    duration_us hugeint not null
);

-- Integer keys for the text identifiers the hot tables below group and join on: the number of a reader
-- (pseudonym), a copy (item_id) and a branch (branch_id). A copy's or reader's number, once given, stays (the
-- events carry them); the branches are numbered anew when the schema changes.
create table if not exists reader_keys (reader_no integer not null, reader varchar not null);
create table if not exists item_keys (item_no integer not null, item_id varchar not null);
create or replace table branch_keys (branch_no integer not null, branch_id varchar not null);

-- The events with their copy and readers named: what a question about a few events reads (the import, the chains
-- and the rollups read event_rows).
create or replace view events as
select
    e.event_key, e.occurred_at, e.action, i.item_id, r.reader, f.reader as from_reader, e.branch_id, e.channel,
    e.due_at, e.import_id, e.item_no, e.reader_no, e.from_reader_no,
from event_rows as e
inner join item_keys as i on e.item_no = i.item_no
inner join reader_keys as r on e.reader_no = r.reader_no
left join reader_keys as f on e.from_reader_no = f.reader_no;

-- The first and last moment of the stored events (one row; none without events): the data's span, every query's
-- default period. Kept at each change of the events (a scan of every event's time on each query otherwise).
create or replace table event_span (first_at timestamp not null, last_at timestamp not null);

-- Every loan, one row each, stored in time order: a checkout belongs to the branch where it was made, a
-- transfer to the branch where its chain started (empty when that start lies before the data). The rollups
-- below are counted on the integer keys.
create or replace table loans (
    day date not null,
    occurred_at timestamp not null,
    is_transfer boolean not null,
    branch_no integer,
    item_no integer not null,
    reader_no integer not null
);

-- Loans per month, weekday (1 = Monday) and hour of the day, at every branch: the week's rhythm.
create or replace table loans_hour_month (
    month date not null,
    weekday integer not null,
    hour integer not null,
    checkouts bigint not null,
    transfers bigint not null
);

-- Exact counts kept per day, and per month with the month's distinct readers (all branches: branch_no and
-- all_branches; a branch's: all_branches false).
create or replace table loans_day (
    day date not null,
    branch_no integer,
    checkouts bigint not null,
    transfers bigint not null
);

create or replace table loans_month (
    month date not null,
    all_branches boolean not null,
    branch_no integer,
    checkouts bigint not null,
    transfers bigint not null,
    readers bigint not null
);

-- Loans per month of the copies of a home branch, class and owner (attributes of the copies as they are now:
-- rebuilt after an import of items).
create or replace table loans_home_month (
    month date not null,
    home_branch_id varchar,
    clc_class varchar,
    owner varchar,
    checkouts bigint not null,
    transfers bigint not null
);

-- The same over all months: one row per home branch, class and owner (a period that holds every loan reads it).
-- Changed by the difference of the months recomputed, rebuilt with loans_home_month.
create or replace table loans_home_total (
    home_branch_id varchar,
    clc_class varchar,
    owner varchar,
    checkouts bigint not null,
    transfers bigint not null
);

-- Loans per month of a lending branch (branch_keys; empty: transfers of chains that started before the data) and
-- the copies' home branch (as the copies are now: rebuilt after an import of items); loans of copies not in the
-- items file are left out.
create or replace table loans_lending_month (
    month date not null,
    branch_no integer,
    home_branch_id varchar,
    checkouts bigint not null,
    transfers bigint not null
);
-- The same over all months: one row per pair (a period that holds every loan reads it, with no sum of the months).
-- Changed by the difference of the months recomputed, rebuilt with loans_lending_month.
create or replace table loans_lending_total (
    branch_no integer,
    home_branch_id varchar,
    checkouts bigint not null,
    transfers bigint not null
);

-- The same pairs as the download lists them (loans_by_lending_owning_full, for a period that holds every loan): by
-- branch id, with the branches' names. Kept by delta with loans_lending_total, anew when the branches or the copies'
-- home branches change; sorted when asked.
create or replace table lending_owning_list (
    lending_branch_id varchar,
    lending_branch varchar,
    owning_branch_id varchar,
    owning_branch varchar,
    checkouts bigint not null,
    transfers bigint not null,
    loans bigint not null
);

-- Every renewal and return, one row each: a return belongs to the branch where it was made, a renewal to the branch
-- where the copy's chain then started (branch_keys; empty: no chain, one that started before the data, or a return
-- without a branch). Kept so an import compares the touched copies' rows and changes the counts per day by the
-- difference. The counts per day and branch, beside loans_day (only rows with a count).
create or replace table actions (
    day date not null,
    occurred_at timestamp not null,
    is_return boolean not null,
    branch_no integer,
    item_no integer not null
);

create or replace table actions_day (
    day date not null,
    branch_no integer,
    renewals bigint not null,
    returns bigint not null
);

-- Activity bitmaps: bit (month_no % 120) of `months` is set when the reader (at the branch; the copy) had a
-- loan in that month of the 120-month block (month_no // 120). One row per key and block.
create or replace table reader_months (reader_no integer not null, block integer not null, months hugeint not null);
create or replace table reader_branch_months (
    branch_no integer not null,  -- 0: transfers of chains that started before the data
    reader_no integer not null,
    block integer not null,
    months hugeint not null
);
create or replace table item_months (item_no integer not null, block integer not null, months hugeint not null);

-- Per copy (in the items file or with events) where it stands after all its events: its last drift chain, the due
-- date set by its latest checkout, transfer or renewal that set one, and its latest loan; and the copy's attributes
-- as they are now (rebuilt after an import of items). A question about an earlier day reads these where they
-- happened before that day's end, and the chains, events and loans of the other copies only.
create or replace table copy_state (
    item_id varchar not null,
    chain_no integer,  -- the last chain (empty: the copy has no chain)
    started_at timestamp,
    ended_at timestamp,
    start_branch_id varchar,
    end_branch_id varchar,
    first_transfer_at timestamp,
    due_at date,  -- the latest due date set, and when it was set
    due_set_at timestamp,
    last_loan_at timestamp,
    in_items boolean not null,  -- the copy is in the items file, with these attributes
    home_branch_id varchar,
    owner varchar,
    added_on date,
    item_no integer,  -- the copy's key (item_keys)
    partial boolean,  -- the last chain did not start with a checkout
    transfers integer,  -- the last chain's hand-overs
    last_event_at timestamp,  -- the last chain's last event
    holder_no integer  -- who holds the copy now, while its last chain is not returned (reader_keys)
);

-- The weeding list after all the events: the library copies in the items file never lent (no checkout or transfer
-- stored), with the columns its download shows (`items_never_borrowed_full`), in its order. Kept by delta from
-- copy_state for the copies an import or undo touches; made anew with copy_state's attributes (an import of items).
create or replace table weeding_list (
    item_id varchar not null,
    title varchar,
    author varchar,
    call_number varchar,
    clc_class varchar,
    home_branch_id varchar,
    added_on date
);

-- The move list after all the events: the copies in the items file on a shelf at a branch other than their home
-- branch (where their last chain ended), with the columns its download shows (`moves_by_item_full`) but the branches'
-- names and addresses, in its order. Kept by delta from copy_state for the copies an import or undo touches; made
-- anew with copy_state's attributes (an import of items).
create or replace table moves_list (
    item_id varchar not null,
    title varchar,
    call_number varchar,
    from_branch_id varchar not null,
    to_branch_id varchar not null,
    on_shelf_since date not null,
    added_on date
);

-- Per reader the first loan (a checkout before a transfer at the same moment), its branch (branch_keys; empty:
-- a transfer of a chain that started before the data) and the first later day with a loan.
create or replace table reader_firsts (
    reader_no integer not null,
    first_at timestamp not null,
    branch_no integer,
    next_day date
);

-- Per import of events, the branches its events name (empty: none) and how many of its events name each;
-- orphans_by_import looks them up in the branches file as it is when asked. Added at the import, counted anew after
-- an undo.
create or replace table import_branches (import_id integer not null, branch_id varchar, events bigint not null);

-- The copies with events (numbered in item_keys) that are not in the items file: the copies of orphaned events. Counted
-- anew after an import of items or an undo; the copies of an import of events the items file lacks are added.
create or replace table copies_unknown (item_no integer not null, item_id varchar not null);

-- Titles (a title and its author, '' when none, as the copies in the items file are now), numbered in the order they
-- sort: one row per title and home branch of its copies, with how many copies and the least class among them. And
-- the title and home branch of every copy in the items file (each numbered in item_keys). Rebuilt after an import of
-- items.
create or replace table title_copies (
    title_no integer not null,
    title varchar not null,
    author varchar not null,
    home_branch_id varchar,
    copies bigint not null,
    clc_class varchar
);
create or replace table item_titles (item_no integer not null, title_no integer not null, home_branch_id varchar);

-- Loans per month of the copies of a title and a home branch (stored in home branch order, so a question about some
-- branches reads only theirs), every title's loans over all the data (title_loans), and apart the month rows of the
-- 1,000 titles most borrowed over all the data (loans_title_month_top): enough to bound the most borrowed titles of
-- any period before counting any other. Rebuilt after an import of items, changed by the loans an import of events
-- (or an undo) adds and deletes.
create or replace table loans_title_month (
    month date not null,
    home_branch_id varchar,
    title_no integer not null,
    loans bigint not null
);
create or replace table loans_title_month_top (
    month date not null,
    home_branch_id varchar,
    title_no integer not null,
    loans bigint not null
);
create or replace table title_loans (title_no integer not null, loans bigint not null);

-- The items and readers files keyed by number (item_keys, reader_keys): what the queries group copies and readers by
-- (and the copies' labels, which the move list keeps), rebuilt after an import of items or readers.
create or replace table item_attrs (
    item_no integer not null,
    home_branch_id varchar,
    owner varchar not null,
    added_on date,
    clc_class varchar,
    title varchar not null,
    call_number varchar
);
create or replace table reader_attrs (
    reader_no integer not null,
    registered_on date,
    home_branch_id varchar,
    birth_year integer,
    reader_type varchar
);

-- Loans per month and branch (branch_keys), and for all branches (all_branches), of the readers of a type and birth
-- year (attributes of the readers as they are now, empty for readers not in the readers file: rebuilt after an
-- import of readers).
create or replace table loans_reader_month (
    month date not null,
    all_branches boolean not null,
    branch_no integer,
    reader_type varchar,
    birth_year integer,
    loans bigint not null
);

-- The walks between communities and branches, rebuilt by microbranch.walks whenever branches or communities change.
-- walk_pairs: one row per community and public branch within 15 minutes' walk (the longest threshold offered).
create table if not exists walk_pairs (
    community_code varchar not null,
    branch_id varchar not null,
    minutes double not null
);

-- community_nearest: one row per community and span of days [valid_from, valid_until) (valid_until empty: from then
-- on) over which its nearest open public branch, with and without micro-branches, stays the same.
create table if not exists community_nearest (
    community_code varchar not null,
    valid_from date not null,
    valid_until date,
    nearest_branch_id varchar,
    walk_minutes double,
    nearest_branch_without_micro varchar,
    walk_minutes_without_micro double
);
