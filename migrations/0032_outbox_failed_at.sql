-- When the sender gave up on a row (RFC 3339 UTC): `platform-desk outbox failed` shows it
-- beside when the row was written, so an operator can tell last night's Slack outage from a
-- scope missing since the install. Rows given up before this migration keep null (unknown);
-- a retry clears it.
alter table outbox add column failed_at text;
