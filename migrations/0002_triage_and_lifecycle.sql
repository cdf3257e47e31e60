-- Working tickets in Slack: why triage chose what it did, duplicates and merges, who filed
-- a message by reaction, the resolution note, and lookups by thread.

alter table tickets add column triage_rule text;
alter table tickets add column triage_reason text;
-- a suggestion: this ticket looks like that open one
alter table tickets add column duplicate_of integer references tickets (id);
-- set when the ticket was merged into another (it is then closed)
alter table tickets add column merged_into integer references tickets (id);
-- who added the ticket emoji (source 'reaction'), or used the message shortcut
alter table tickets add column filed_by text;
alter table tickets add column resolution_note text;
alter table tickets add column source_deleted integer not null default 0;

create index tickets_card on tickets (card_channel, card_ts);
create index tickets_source on tickets (channel, source_ts);
create index tickets_open_channel on tickets (channel, status);
