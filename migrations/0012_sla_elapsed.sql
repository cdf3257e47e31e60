-- What the reports measure, kept on the ticket when it happens rather than recomputed from
-- the event log for every report: the SLA time (business hours for business-hours
-- priorities, time waiting on the requester left out) from creation to the first response
-- and to the resolution, in whole seconds, and how many times the ticket was reopened.
-- Written by the lifecycle from the same clocks that set the due times
-- (`sla::deadlines::clocks`); null until the event happens.
alter table tickets add column first_response_s integer;
alter table tickets add column resolution_s integer;
alter table tickets add column reopens integer not null default 0;
