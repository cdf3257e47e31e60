-- Outbox ids are never given out again. Without AUTOINCREMENT SQLite gives a new row the
-- largest id plus one, so when a pulse survey's close deleted its own rows (the reminders)
-- the results it wrote in the same transaction could take a deleted row's id. A call for
-- that deleted row still in flight then recorded its answer on the results: marked sent,
-- never posted. The sender and `already_posted` name a row by its id; an id now names one
-- row for the life of the database. Rebuilt once, rows and ids as they were.
create table outbox_new (
    id integer primary key autoincrement,
    method text not null,
    -- the channel the message goes to: the pacing key ('' when none)
    channel text not null default '',
    payload text not null,
    -- what the answer is for, e.g. 'ticket_card': the sender records the ts it gets back
    purpose text not null default 'notice',
    ticket_id integer references tickets (id),
    status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
    attempts integer not null default 0,
    -- null: due now; set by the sender when it backs off
    next_attempt_at text,
    last_error text,
    created_at text not null,
    sent_at text,
    result_ts text,
    -- see migration 0008
    started_at text,
    -- see migration 0009
    lane text generated always as (
        case when purpose = 'card_update' and ticket_id is not null
             then method || ' #' || ticket_id
             else method || ' ' || channel
        end
    ) virtual
);
insert into outbox_new (id, method, channel, payload, purpose, ticket_id, status, attempts,
                        next_attempt_at, last_error, created_at, sent_at, result_ts, started_at)
select id, method, channel, payload, purpose, ticket_id, status, attempts,
       next_attempt_at, last_error, created_at, sent_at, result_ts, started_at
from outbox;
drop table outbox;
alter table outbox_new rename to outbox;
create index outbox_lane_pending on outbox (lane, id) where status = 'pending';
create index outbox_failed on outbox (id) where status = 'failed';
