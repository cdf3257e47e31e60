-- The duplicate check reads its candidates by primary key from what the ticket writer
-- remembers of each channel's and requester's newest tickets (`tickets::recent`), so the
-- index of open tickets by channel (migration 10) is no longer read. It cost 15-20 µs of
-- CPU per filed request and a page per channel per commit to keep. The `words` column and
-- its trigger stay.
drop index if exists tickets_channel_open;
