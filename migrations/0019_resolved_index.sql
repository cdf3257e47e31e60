-- The dashboard's weekly series read the tickets created or resolved in its window. By
-- creation there is an index (migration 13); by resolution there was none, so the query
-- walked every ticket (3-5 s over a million). Partial: a ticket enters it when it is
-- resolved, so filing, which writes open tickets, never touches it.
create index tickets_resolved on tickets (resolved_at) where resolved_at is not null;
