-- A ticket's SLA plan is one row: its earliest timer, with the later timers of the same plan
-- in `later` (`kind@due_at;kind@due_at`, earliest first). The scheduler splits a chain when
-- its head falls due, so filing a ticket writes one timer row instead of four. Cancelling
-- the head cancels the whole plan.
alter table timers add column later text;
