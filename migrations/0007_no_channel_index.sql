-- A channel's recent tickets are looked up among the open ones (the status index), as a
-- requester's are since migration 6: the duplicate check reads them once per channel and
-- keeps them in memory. The (channel, id) index cost an index entry and a page written on
-- every shared commit of the ticket writer, for that one read.
drop index if exists tickets_channel_recent;
