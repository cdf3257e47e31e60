-- Hours saved and where the time goes (issue 22).

-- `/platform win <what changed> saves <N>h/month`: a recorded improvement, counted in hours
-- saved every month from the month it was recorded in (in `sla.timezone`).
create table wins (
    id integer primary key,
    what text not null,
    hours_per_month real not null check (hours_per_month > 0),
    recorded_by text not null,
    recorded_at text not null
);
create index wins_recorded_at on wins (recorded_at);

-- The team channel was told that support stayed above `capacity.support_band`: once per
-- streak of weeks above it, the streak named by the local date of its first Monday.
create table support_share_notices (
    streak_start text primary key,
    notified_at text not null
);

-- The support share reads the events that start and stop work on a ticket in a span of
-- time. Partial, without `created`: filing a ticket does not write to it.
create index ticket_events_work on ticket_events (at)
    where kind in ('acknowledged', 'assigned', 'waiting', 'resumed', 'resolved', 'reopened',
                   'closed');
