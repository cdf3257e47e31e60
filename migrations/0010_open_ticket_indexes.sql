-- Filing compares a request with the newest open tickets of its channel and of its requester
-- (the duplicate check). Without an index by channel (migration 7) the channel's were read by
-- walking every open ticket, so filing slowed down as the backlog grew: about 550 requests/s
-- with 10,000 open tickets.
--
-- `words`: the significant words of a ticket's title and description, distinct, sorted and
-- space-separated (`triage::similar::stored_words`), written when it is filed: what the
-- duplicate check compares, so that it does not read and split every candidate's text.
-- Null for tickets filed before this migration and after an edit of the text (the trigger
-- below): the check then reads the text itself.
alter table tickets add column words text;

-- A channel's open tickets, newest last, with everything the check reads of them: one seek
-- and at most ten steps in one or two pages, whatever the size of the backlog, and no read of
-- the table. New entries go at the end of their channel's run (a handful of channels), so
-- filing writes few pages of it. A ticket leaves it when it is resolved.
--
-- The `where` clause is written exactly as the reads write it: SQLite uses a partial index
-- only for a query whose `where` contains the index's own terms. `status` is a column too, so
-- the reads find their condition in the index.
--
-- There is no such index by requester: with thousands of requesters each new ticket would
-- write a page of it of its own, which measured about half of the cost of filing at 10,000
-- requests/s. The writer keeps a summary of each requester's recent open tickets in memory
-- instead (`tickets::recent`).
create index tickets_channel_open on tickets (channel, id, key, created_at, words, status)
    where status in ('open', 'acknowledged', 'waiting');

-- A ticket's words follow its text, whichever code changes it (an edited source message
-- changes the description).
create trigger tickets_words_follow_the_text after update of title, description on tickets
    when old.title is not new.title or old.description is not new.description
begin
    update tickets set words = null where id = new.id;
end;
