-- `/metrics` reports the rows given up on at every scrape, and `platform-desk outbox failed`
-- lists them: both read this small index instead of the whole outbox, which keeps every
-- message ever sent (a row per ticket and per notice: millions, over the years).
create index outbox_failed on outbox (id) where status = 'failed';
