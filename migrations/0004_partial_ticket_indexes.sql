-- Tickets filed by command or form have no source message, and a ticket has no card until
-- Slack answers the post: index only the rows that have them, so filing a ticket writes
-- two fewer index entries. Lookups by `card_ts = ?` or `source_ts = ?` imply `is not null`
-- and still use these indexes.
drop index tickets_card;
create index tickets_card on tickets (card_channel, card_ts) where card_ts is not null;
drop index tickets_source;
create index tickets_source on tickets (channel, source_ts) where source_ts is not null;
