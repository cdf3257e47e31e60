-- A requester's tickets are looked up among the open ones (the status index), the way the
-- queue already reads them: `mine` and the duplicate check only want open tickets. An index
-- by requester put each new ticket on a different page (one per requester), about half of
-- the pages a shared commit wrote; the open queue of a platform team is small.
--
-- `if exists`: the indexes by requester of migrations 1 and 3, or the one of the build whose
-- migration 1 was edited in place (see `store::SUPERSEDED_CHECKSUMS`), and the
-- (channel, status) index of migration 2, which (channel, id) of migration 3 replaced.
drop index if exists tickets_requester;
drop index if exists tickets_requester_recent;
drop index if exists tickets_open_channel;
