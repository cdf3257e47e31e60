-- Filing reads the newest open tickets of the requester and of the channel (duplicate
-- candidates, `mine`). Without an index by requester or by channel (migrations 6 and 7)
-- those reads walked every open ticket, so filing slowed down as the backlog grew: about
-- 550 requests/s with 10,000 open tickets. These indexes hold only the open tickets (the
-- rows those reads want), newest last, so each read is one seek and at most `limit` steps,
-- whatever the size of the backlog. A resolved ticket leaves them.
--
-- The `where` clause is written exactly as the reads write it: SQLite uses a partial index
-- only for a query whose `where` contains the index's own terms.
create index tickets_requester_open on tickets (requester, id)
    where status in ('open', 'acknowledged', 'waiting');
create index tickets_channel_open on tickets (channel, id)
    where status in ('open', 'acknowledged', 'waiting');
