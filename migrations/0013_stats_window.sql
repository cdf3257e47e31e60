-- What the statistics report reads of each ticket, kept in one index ordered by creation
-- time, so that a 90-day report over a million tickets reads one range of one index and
-- never the tickets themselves (their text makes the table about six times larger).
--
-- The columns are virtual: SQLite computes them from the row when it writes the index entry,
-- so no code that writes tickets has to know about them, and they cannot disagree with the
-- ticket. Their values live only in the index.
--
-- `stats_row`: priority, category, channel, first_response_s, resolution_s and the flags
-- that do not depend on the time of the report, joined by the unit separator (char 31), so
-- the report reads each ticket as one short text (`stats::rows` parses it). The flags:
--   1  first response given
--   2  first response target decided and missed: marked breached, or given after its due time
--   4  resolved (status resolved or closed, with a resolution time)
--   8  resolution target decided and missed: marked breached, or resolved after its due time
--   16 reopened at least once
-- `stats_first_response_pending` / `stats_resolution_pending`: the due time of a target not
-- met yet and not marked breached (null otherwise): whether it is past due depends on when the
-- report is made.
--
-- Filing writes one more index entry, at the end of the index (tickets are created in time
-- order): the pages it touches are the ones the previous commit touched.
alter table tickets add column stats_row text generated always as (
    priority || char(31) || category || char(31) || ifnull(channel, '') || char(31)
    || ifnull(first_response_s, '') || char(31) || ifnull(resolution_s, '') || char(31)
    || ((first_response_at is not null)
        + 2 * (first_response_breached or coalesce(first_response_at > first_response_due, 0))
        + 4 * (resolved_at is not null and status in ('resolved', 'closed'))
        + 8 * (resolution_breached
               or coalesce(resolved_at > resolution_due and status in ('resolved', 'closed'), 0))
        + 16 * (reopens > 0))
) virtual;

alter table tickets add column stats_first_response_pending text generated always as (
    case when first_response_at is null and not first_response_breached
        then first_response_due end
) virtual;

alter table tickets add column stats_resolution_pending text generated always as (
    case when not (resolved_at is not null and status in ('resolved', 'closed'))
            and not resolution_breached
        then resolution_due end
) virtual;

create index tickets_created on tickets (
    created_at, stats_row, stats_first_response_pending, stats_resolution_pending
);
