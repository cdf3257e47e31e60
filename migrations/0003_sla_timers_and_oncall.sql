-- SLA timers as rows, breach state on tickets, on-call overrides and a run log for jobs.

-- Each ticket's coming events. The scheduler sleeps until the earliest pending one and
-- marks it fired in the transaction that writes its outbox messages.
create table timers (
    id integer primary key,
    ticket_id integer not null references tickets (id),
    kind text not null check (kind in ('warn_first_response', 'warn_resolution',
        'breach_first_response', 'breach_resolution', 'escalate')),
    due_at text not null,
    -- escalation round (1, 2, ...); 0 otherwise
    round integer not null default 0,
    status text not null default 'pending' check (status in ('pending', 'fired', 'cancelled')),
    fired_at text,
    -- fired after the process was down past its due time
    late integer not null default 0
);

create index timers_due on timers (due_at, id) where status = 'pending';
create index timers_ticket on timers (ticket_id) where status = 'pending';

alter table tickets add column first_response_breached integer not null default 0;
alter table tickets add column resolution_breached integer not null default 0;
-- when someone acknowledged the latest breach ping (stops escalation)
alter table tickets add column breach_acknowledged_at text;
alter table tickets add column paged integer not null default 0;

-- `/platform oncall set @user [for 3d]`: the newest override covering an instant wins.
create table oncall_overrides (
    id integer primary key,
    user_id text not null,
    starts_at text not null,
    ends_at text not null,
    set_by text not null,
    created_at text not null
);

-- Scheduled jobs that ran, unique per (name, scheduled instant): a restart never runs one
-- twice.
create table job_runs (
    name text not null,
    scheduled_at text not null,
    ran_at text not null,
    late integer not null default 0,
    primary key (name, scheduled_at)
);

-- Duplicate candidates: the newest tickets of a requester and of a channel, read by index.
create index tickets_requester_recent on tickets (requester, id);
create index tickets_channel_recent on tickets (channel, id);
