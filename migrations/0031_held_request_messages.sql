-- The outbox row that posted a held request's offer or redirect: once Slack has taken it,
-- its `result_ts` is the message's own ts, so an offer filed by the timeout can replace
-- its buttons with what became of it (`chat.update`). Outbox ids are never reused (0027).
alter table self_service_offers add column notice_outbox_id integer;
alter table ownership_redirects add column notice_outbox_id integer;
-- A command's offer is its ephemeral answer, which chat.update cannot reach: the command's
-- response_url can replace it (up to 30 minutes after the command), when the timeout files it.
alter table self_service_offers add column response_url text;
