-- A requester's tickets are looked up among the open ones (the status index), the way the
-- queue already reads them: `mine` and the duplicate check only want open tickets. An index
-- by requester put each new ticket on a different page (one per requester), about half of
-- the pages a shared commit wrote; the open queue of a platform team is small.
drop index tickets_requester;
