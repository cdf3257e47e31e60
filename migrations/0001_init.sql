-- The foundation: tickets, their event log, the inbox of handled Slack deliveries and the
-- outbox of everything the bot says to Slack. Times are RFC 3339 UTC text with a fixed
-- width, so they sort and compare as strings.

create table tickets (
    -- the number in PLAT-<n>; assigned by the single ticket writer, never reused
    id integer primary key,
    key text not null unique,
    title text not null,
    description text not null,
    requester text not null,
    channel text,
    source text not null check (source in ('command', 'modal', 'message', 'mention', 'reaction')),
    -- the Slack message a ticket came from (mention, message, reaction)
    source_ts text,
    category text not null,
    priority text not null,
    status text not null default 'open'
        check (status in ('open', 'acknowledged', 'waiting', 'resolved', 'closed')),
    assignee text,
    urgency text,
    link text,
    created_at text not null,
    updated_at text not null,
    first_response_at text,
    resolved_at text,
    first_response_due text,
    resolution_due text,
    -- where the intake card was posted, filled in when Slack answers
    card_channel text,
    card_ts text
);

create index tickets_requester on tickets (requester, status);
create index tickets_status on tickets (status);

-- Every state change of a ticket, with who and when.
create table ticket_events (
    id integer primary key,
    ticket_id integer not null references tickets (id),
    kind text not null,
    actor text,
    at text not null,
    detail text
);

create index ticket_events_ticket on ticket_events (ticket_id, id);

-- Slack deliveries already handled: 'event:<event_id>' and 'msg:<channel>:<ts>', so a
-- redelivered event, or the same message under a new event id, is handled once.
create table inbox (
    key text primary key,
    received_at text not null
);

-- Everything the bot says to Slack, written in the transaction of the change that caused it.
create table outbox (
    id integer primary key,
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
    result_ts text
);

-- the head of each channel's queue: the sender keeps strict order per channel
create index outbox_pending on outbox (channel, id) where status = 'pending';
